//! `application/x-www-form-urlencoded` as LWA wants it, written into a caller's buffer.
//!
//! Every byte of a name or value except the RFC 3986 unreserved characters
//! (`A-Z a-z 0-9 - . _ ~`) becomes `%XX` with upper-case hex; `name=value` pairs are joined
//! by `&`. Space is `%20`, never `+`. The set of bytes that are encoded is
//! [`percent_encoding_rfc3986`]'s (see [`FORM`]), and its encoder is the reference the tests
//! hold this one to; this module writes `%XX` from a 16-byte digit table rather than the
//! crate's 768-byte one (measured: 750 bytes of a Cortex-M4 firmware's flash), and adds the
//! exact length calculation a fixed buffer needs and a cursor that never writes past the end.
//!
//! ```
//! use lwa_core::form::{encode, encoded_len};
//!
//! let mut out = [0u8; 32];
//! let n = encode(b"Atzr|a b+c", &mut out).unwrap();
//! assert_eq!(&out[..n], b"Atzr%7Ca%20b%2Bc");
//! assert_eq!(encoded_len(b"Atzr|a b+c"), n);
//! ```

use percent_encoding_rfc3986::{AsciiSet, NON_ALPHANUMERIC};

use crate::error::CapacityError;

/// Every byte that is not RFC 3986 unreserved (`ALPHA / DIGIT / "-" / "." / "_" / "~"`).
pub const FORM: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Whether `b` is an RFC 3986 unreserved character, written as it is.
///
/// ```
/// assert!(lwa_core::form::is_unreserved(b'~'));
/// assert!(!lwa_core::form::is_unreserved(b'|'));
/// ```
#[must_use]
pub const fn is_unreserved(b: u8) -> bool {
    // Branch-free (`|` on booleans), so that the 16-byte block tests of the `fast` paths vectorize.
    let letter = (b | 0x20).wrapping_sub(b'a') < 26;
    let digit = b.wrapping_sub(b'0') < 10;
    letter | digit | (b == b'-') | (b == b'.') | (b == b'_') | (b == b'~')
}

/// `RESERVED[b]` is 1 for a byte that becomes `%XX`: one load per byte in the hot loops below
/// (feature `fast`: 256 bytes of flash, faster than the bitmap).
// Evaluated at compile time; `b < 256` bounds the index.
#[cfg(feature = "fast")]
#[allow(clippy::indexing_slicing)]
static RESERVED: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        if !is_unreserved(b as u8) {
            t[b] = 1;
        }
        b += 1;
    }
    t
};

/// 1 if `b` becomes `%XX`, else 0.
#[cfg(feature = "fast")]
#[inline(always)]
#[allow(clippy::indexing_slicing)] // infallible: a u8 indexes a 256-entry table
fn reserved(b: u8) -> u8 {
    RESERVED[usize::from(b)]
}

/// Bit `b` is set for a byte that becomes `%XX`: one load and a shift per byte in the hot
/// loops below, in 32 bytes of flash.
// Evaluated at compile time; `b < 256` bounds the index.
#[cfg(not(feature = "fast"))]
#[allow(clippy::indexing_slicing)]
static RESERVED: [u8; 32] = {
    let mut t = [0u8; 32];
    let mut b = 0;
    while b < 256 {
        if !is_unreserved(b as u8) {
            t[b >> 3] |= 1 << (b & 7);
        }
        b += 1;
    }
    t
};

/// 1 if `b` becomes `%XX`, else 0.
#[cfg(not(feature = "fast"))]
#[inline(always)]
#[allow(clippy::indexing_slicing)] // infallible: `b >> 3` is below 32
fn reserved(b: u8) -> u8 {
    (RESERVED[usize::from(b >> 3)] >> (b & 7)) & 1
}

/// Upper-case hexadecimal digits, for `%XX` and JSON's `\u00XX`.
pub(crate) const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// `b` as `%XX`.
pub(crate) fn percent_encoded(b: u8) -> [u8; 3] {
    let digit = |i: u8| HEX.get(usize::from(i & 0xF)).copied().unwrap_or(b'0');
    [b'%', digit(b >> 4), digit(b)]
}

/// Length of `value` once form-encoded: 1 byte per unreserved byte, 3 per other byte.
///
/// ```
/// assert_eq!(lwa_core::form::encoded_len(b"a|"), 4);
/// ```
#[must_use]
pub fn encoded_len(value: &[u8]) -> usize {
    // `encode` writes exactly this many bytes (a property test checks it against the
    // crate's encoder). Sums run in u16 over chunks that cannot overflow it.
    value.len()
        + value
            .chunks(16_384)
            .map(|chunk| {
                usize::from(chunk.iter().map(|&b| u16::from(reserved(b))).sum::<u16>()) * 2
            })
            .sum::<usize>()
}

/// How many bytes at the start of `s` are unreserved: the table, byte by byte.
#[cfg(not(feature = "fast"))]
fn unreserved_run(s: &[u8]) -> usize {
    s.iter().position(|&b| reserved(b) != 0).unwrap_or(s.len())
}

/// How many bytes at the start of `s` are unreserved: 16 bytes at a time with the branch-free
/// test, the table within the block that ends the run.
#[cfg(feature = "fast")]
fn unreserved_run(s: &[u8]) -> usize {
    crate::blocks::first_match(
        s,
        |b| !is_unreserved(b),
        |block| block.iter().position(|&b| reserved(b) != 0),
    )
    .unwrap_or(s.len())
}

/// Form-encodes `value` into `out`, returning the bytes written.
///
/// ```
/// let mut out = [0u8; 2];
/// let err = lwa_core::form::encode(b"|", &mut out).unwrap_err();
/// assert_eq!(err.required, 3);
/// ```
pub fn encode(value: &[u8], out: &mut [u8]) -> Result<usize, CapacityError> {
    let capacity = out.len();
    let mut cursor = Cursor::new(out);
    cursor.put_encoded(value);
    cursor
        .finish()
        .map_err(|required| CapacityError { required, capacity })
}

/// A write position in a caller's buffer that counts on past the end.
///
/// Writes that do not fit are dropped but still counted, so one pass over the data tells
/// both "here it is" and "this many bytes are required". Used with an empty buffer it is a
/// pure length calculation.
pub(crate) struct Cursor<'b> {
    buf: &'b mut [u8],
    pos: usize,
}

impl<'b> Cursor<'b> {
    pub(crate) fn new(buf: &'b mut [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// Bytes written (or that would have been).
    pub(crate) const fn pos(&self) -> usize {
        self.pos
    }

    /// `Ok(len)` when everything fit, `Err(required)` otherwise.
    pub(crate) fn finish(&self) -> Result<usize, usize> {
        if self.pos <= self.buf.len() {
            Ok(self.pos)
        } else {
            Err(self.pos)
        }
    }

    pub(crate) fn put(&mut self, bytes: &[u8]) {
        let end = self.pos.saturating_add(bytes.len());
        if let Some(dst) = self.buf.get_mut(self.pos..end) {
            dst.copy_from_slice(bytes);
        }
        self.pos = end;
    }

    /// Writes `n` in decimal. `usize` keeps the division native on 32-bit devices (a
    /// `u64` division pulls in a software routine of close to 1 KiB on a Cortex-M).
    pub(crate) fn put_decimal(&mut self, mut n: usize) {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        loop {
            i -= 1;
            if let Some(d) = digits.get_mut(i) {
                // `n % 10` is below 10, so the cast cannot truncate.
                *d = b'0' + (n % 10) as u8;
            }
            n /= 10;
            if n == 0 || i == 0 {
                break;
            }
        }
        self.put(digits.get(i..).unwrap_or_default());
    }

    /// Writes `value` form-encoded: runs of unreserved bytes are copied whole, every other
    /// byte becomes `%XX` from percent-encoding-rfc3986's table.
    pub(crate) fn put_encoded(&mut self, value: &[u8]) {
        if self.pos >= self.buf.len() {
            // Nothing more fits (or this cursor only counts): count without encoding.
            self.pos = self.pos.saturating_add(encoded_len(value));
            return;
        }
        let mut rest = value;
        loop {
            let (plain, tail) = rest
                .split_at_checked(unreserved_run(rest))
                .unwrap_or((rest, &[]));
            self.put(plain);
            let Some((&b, tail)) = tail.split_first() else {
                break;
            };
            self.put(&percent_encoded(b));
            rest = tail;
        }
    }

    /// Writes `prefix` as it is, then `value` form-encoded. `prefix` is the crate's own
    /// `name=` or `&name=`, already in the form alphabet (the request tests compare every
    /// request shape byte for byte, so a prefix that needed encoding would show there).
    pub(crate) fn put_field(&mut self, prefix: &[u8], value: &[u8]) {
        debug_assert!(
            prefix
                .iter()
                .all(|&b| is_unreserved(b) || b == b'&' || b == b'=')
        );
        self.put(prefix);
        self.put_encoded(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreserved_set_matches_rfc3986() {
        for b in 0..=255u8 {
            assert_eq!(reserved(b), u8::from(!is_unreserved(b)), "byte {b:#04x}");
            let expected = b.is_ascii_alphanumeric() || b"-._~".contains(&b);
            assert_eq!(is_unreserved(b), expected, "byte {b:#04x}");
            let mut out = [0u8; 3];
            let n = encode(&[b], &mut out).unwrap();
            if expected {
                assert_eq!(&out[..n], &[b]);
            } else {
                let want = [
                    b'%',
                    b"0123456789ABCDEF"[usize::from(b >> 4)],
                    b"0123456789ABCDEF"[usize::from(b & 15)],
                ];
                assert_eq!(&out[..n], &want);
            }
        }
    }

    #[test]
    fn matches_the_crate_encoder_with_the_form_set() {
        use std::string::ToString;
        let all: std::vec::Vec<u8> = (0..=255u8).chain(*b"Atzr|IwEB-_.~ +/=%").collect();
        let mut out = [0u8; 1024];
        let n = encode(&all, &mut out).unwrap();
        let want = percent_encoding_rfc3986::percent_encode(&all, FORM).to_string();
        assert_eq!(core::str::from_utf8(&out[..n]).unwrap(), want);
    }

    #[test]
    fn vector_values() {
        let mut out = [0u8; 64];
        let n = encode("Atzr|IwEBIA-_.~ +/=".as_bytes(), &mut out).unwrap();
        assert_eq!(&out[..n], b"Atzr%7CIwEBIA-_.~%20%2B%2F%3D");
        let n = encode("s3cr3t&=%".as_bytes(), &mut out).unwrap();
        assert_eq!(&out[..n], b"s3cr3t%26%3D%25");
        let n = encode("é".as_bytes(), &mut out).unwrap();
        assert_eq!(&out[..n], b"%C3%A9");
    }

    #[test]
    fn cursor_counts_past_the_end() {
        let mut buf = [0u8; 4];
        let mut c = Cursor::new(&mut buf);
        c.put(b"abc");
        c.put(b"de");
        c.put_decimal(1234);
        assert_eq!(c.finish(), Err(9));
        let mut buf = [0u8; 21];
        let mut c = Cursor::new(&mut buf);
        c.put_decimal(0);
        c.put_decimal(usize::MAX);
        let max = std::format!("0{}", usize::MAX);
        assert_eq!(c.finish(), Ok(max.len()));
        assert_eq!(&buf[..max.len()], max.as_bytes());
    }
}
