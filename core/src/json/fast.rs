//! A fast path for the common answer: one flat object whose members are plain strings (no
//! escapes), unsigned integers and literals. It scans strings sixteen bytes at a time and
//! gives up, leaving the work to serde-json-core, on anything else: an escape, a nested
//! value, a duplicate, a malformed byte. It only ever accepts input that serde-json-core
//! reads to the same values (a property test and a fuzz target compare the two), so errors
//! and every unusual document still go through the reference path.
//!
//! Measured need: serde-json-core reads strings one byte at a time, about 8 instructions
//! per byte; this path scans them in about one (see BENCHMARKS.md).

use super::{Kind, Member, Slot};

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Where the next `"`, `\\` or control character is, from `at` on: 16 bytes at a time, the
/// block with a hit word by word.
fn find_quote_or_backslash(b: &[u8], at: usize) -> Option<usize> {
    let p = crate::blocks::first_match(
        b.get(at..)?,
        |c| (c == b'"') | (c == b'\\') | (c < 0x20),
        |block| {
            let (low, high) = block.split_at(8);
            first_in_word(low).or_else(|| first_in_word(high).map(|p| p + 8))
        },
    )?;
    Some(at + p)
}

/// The first `"`, `\\` or byte below 0x20 in 8 bytes, found with word arithmetic.
fn first_in_word(word: &[u8]) -> Option<usize> {
    const QUOTES: u64 = ONES * b'"' as u64;
    const BACKSLASHES: u64 = ONES * b'\\' as u64;
    const SPACES: u64 = ONES * 0x20;
    let x = u64::from_le_bytes(*word.first_chunk::<8>()?);
    let q = x ^ QUOTES;
    let s = x ^ BACKSLASHES;
    // A zero byte in `q` or `s`, or a byte below 0x20 in `x`, is a match; the lowest flag is
    // the first match (borrows only ever flag bytes above a true match).
    let hits =
        ((q.wrapping_sub(ONES) & !q) | (s.wrapping_sub(ONES) & !s) | (x.wrapping_sub(SPACES) & !x))
            & HIGHS;
    (hits != 0).then(|| (hits.trailing_zeros() / 8) as usize)
}

/// Whether every byte is below 0x80: the bytes OR-ed together 16 lanes at a time (one vector
/// OR per block), then one test.
fn is_ascii(b: &[u8]) -> bool {
    let (blocks, tail) = b.as_chunks::<16>();
    let mut lanes = [0u8; 16];
    for block in blocks {
        for (lane, &c) in lanes.iter_mut().zip(block) {
            *lane |= c;
        }
    }
    lanes.iter().chain(tail).fold(0, |all, &c| all | c) < 0x80
}

struct Scanner<'b> {
    b: &'b [u8],
    at: usize,
}

impl Scanner<'_> {
    fn skip_ws(&mut self) {
        while matches!(self.b.get(self.at), Some(b' ' | b'\n' | b'\t' | b'\r')) {
            self.at += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.at).copied()
    }

    /// Skips whitespace and takes `c`.
    fn eat(&mut self, c: u8) -> Option<()> {
        self.skip_ws();
        (self.peek()? == c).then(|| self.at += 1)
    }

    /// A string without escapes at the cursor: its content's (start, len). Inlined: returned
    /// through memory, the pair cost a store-forwarding stall per string (measured).
    #[inline(always)]
    fn string(&mut self) -> Option<(usize, usize)> {
        self.eat(b'"')?;
        let start = self.at;
        let end = find_quote_or_backslash(self.b, start)?;
        if self.b.get(end)? != &b'"' {
            return None; // an escape (the reference path decodes those) or a control character
        }
        self.at = end + 1;
        Some((start, end - start))
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.at + word.len();
        (self.b.get(self.at..end)? == word).then(|| self.at = end)
    }

    /// An unsigned integer as serde-json-core reads one: `0`, or `[1-9][0-9]*` in range.
    fn unsigned(&mut self) -> Option<u32> {
        match self.peek()? {
            b'0' => {
                self.at += 1;
                Some(0)
            }
            b'1'..=b'9' => {
                let mut n: u32 = 0;
                while let Some(d @ b'0'..=b'9') = self.peek() {
                    n = n.checked_mul(10)?.checked_add(u32::from(d - b'0'))?;
                    self.at += 1;
                }
                Some(n)
            }
            _ => None,
        }
    }

    /// An unknown member's value: a plain string, a literal, or a number in the JSON grammar
    /// (as strictly as `strict::check`; anything else is left to the reference path).
    fn skip_value(&mut self) -> Option<()> {
        self.skip_ws();
        match self.peek()? {
            b'"' => self.string().map(drop),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => {
                self.at = super::strict::number(self.b, self.at).ok()?;
                Some(())
            }
        }
    }
}

/// Reads `body` into `slots` if it is a flat object of plain values, every byte of it checked
/// as strictly as `strict::check` would (so the depth limit holds too: its only brackets are
/// its own braces). `false`: use the reference path (and reset the slots).
pub(super) fn scan(body: &[u8], members: &[Member], slots: &mut [Slot]) -> bool {
    scan_inner(body, members, slots).is_some()
}

/// `Some` for a flat object.
fn scan_inner(body: &[u8], members: &[Member], slots: &mut [Slot]) -> Option<()> {
    // Every string is then UTF-8, as the reference path requires of each. The ASCII test
    // first: it is a fraction of the cost of full validation, and answers are ASCII.
    if !is_ascii(body) {
        core::str::from_utf8(body).ok()?;
    }
    let mut s = Scanner { b: body, at: 0 };
    s.eat(b'{')?;
    s.skip_ws();
    if s.peek()? == b'}' {
        s.at += 1;
    } else {
        loop {
            let (start, len) = s.string()?;
            let key = body.get(start..start + len)?;
            s.eat(b':')?;
            match members.iter().position(|m| m.name.as_bytes() == key) {
                None => s.skip_value()?,
                Some(i) => {
                    let (member, slot) = (members.get(i)?, slots.get_mut(i)?);
                    if *slot != Slot::Absent {
                        return None; // a duplicate: the reference path names it
                    }
                    s.skip_ws();
                    *slot = if s.peek()? == b'n' {
                        s.literal(b"null")?;
                        Slot::Null
                    } else {
                        match member.kind {
                            Kind::Str => {
                                let (start, len) = s.string()?;
                                Slot::Str { start, len }
                            }
                            Kind::U32 => Slot::U32(s.unsigned()?),
                        }
                    };
                }
            }
            s.skip_ws();
            match s.peek()? {
                b',' => s.at += 1,
                b'}' => {
                    s.at += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    s.skip_ws();
    (s.at == body.len()).then_some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_first_quote_or_backslash_at_every_offset() {
        for len in 0..40 {
            for at in 0..len {
                for c in [b'"', b'\\'] {
                    let mut b = std::vec![b'a'; len];
                    b[at] = c;
                    if at + 3 < len {
                        b[at + 3] = b'"';
                    }
                    assert_eq!(
                        find_quote_or_backslash(&b, 0),
                        Some(at),
                        "len {len} at {at}"
                    );
                    assert_eq!(
                        find_quote_or_backslash(&b, at + 1),
                        (at + 3 < len).then_some(at + 3)
                    );
                }
            }
            assert_eq!(
                find_quote_or_backslash(&std::vec![0x80 | b'"'; len], 0),
                None
            );
        }
    }
}
