//! Where the next byte a JSON string scan must look at is: `"`, `\`, a control character or
//! a non-ASCII byte. Everything between them is skipped a machine word at a time (eight bytes
//! on a 64-bit host, four on a Cortex-M), with the word arithmetic of [`special_in_word`];
//! with the host feature `fast`, sixteen bytes at a time in a loop the compiler vectorizes.
//!
//! Measured need (tests/firmware, Cortex-M4): a byte-at-a-time scan took 19 instructions per
//! string byte; the word scan takes about 4.

const W: usize = size_of::<usize>();
const ONES: usize = usize::MAX / 0xFF;
const HIGHS: usize = ONES * 0x80;

/// Whether `c` stops the scan. Outside `0x20..0x80` is one unsigned compare after a
/// subtraction (a single vector compare on a host; two range compares made the compiler
/// widen the lanes to 16 bits).
fn is_special(c: u8) -> bool {
    (c == b'"') | (c == b'\\') | (c.wrapping_sub(0x20) >= 0x60)
}

/// The high bit of every special byte of the word `x` (read little-endian), and possibly of
/// some bytes above the first special one: the lowest flag is always the first special byte
/// (a borrow only ever flags bytes above a true match).
fn special_in_word(x: usize) -> usize {
    let q = x ^ (ONES * b'"' as usize);
    let s = x ^ (ONES * b'\\' as usize);
    ((q.wrapping_sub(ONES) & !q)
        | (s.wrapping_sub(ONES) & !s)
        | (x.wrapping_sub(ONES * 0x20) & !x)
        | x)
        & HIGHS
}

/// The first special byte of `bytes`, a word at a time.
fn first_in_words(bytes: &[u8]) -> Option<usize> {
    let (words, tail) = bytes.as_chunks::<W>();
    for (i, word) in words.iter().enumerate() {
        let hits = special_in_word(usize::from_le_bytes(*word));
        if hits != 0 {
            return Some(i * W + (hits.trailing_zeros() / 8) as usize);
        }
    }
    let p = tail.iter().position(|&c| is_special(c))?;
    Some(words.len() * W + p)
}

/// Index of the first special byte in `b` at or after `from`; `None` when there is none.
pub(super) fn special(b: &[u8], from: usize) -> Option<usize> {
    let rest = b.get(from..)?;
    #[cfg(feature = "fast")]
    let p = crate::blocks::first_match(rest, is_special, |block| first_in_words(block))?;
    #[cfg(not(feature = "fast"))]
    let p = first_in_words(rest)?;
    Some(from + p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_first_special_byte_at_every_offset() {
        for len in 0..40 {
            assert_eq!(special(&std::vec![b'a'; len], 0), None);
            for at in 0..len {
                for c in [b'"', b'\\', 0x00, 0x1F, 0x80, 0xFF] {
                    let mut b = std::vec![b'a'; len];
                    b[at] = c;
                    if at + 3 < len {
                        b[at + 3] = b'"';
                    }
                    assert_eq!(special(&b, 0), Some(at), "len {len} at {at} byte {c:#x}");
                    assert_eq!(special(&b, at + 1), (at + 3 < len).then_some(at + 3));
                }
            }
        }
        // Neighbours of the special bytes are not special.
        for c in [b'!', b'#', b'[', b']', 0x20, 0x7F] {
            assert_eq!(special(&std::vec![c; 33], 0), None, "{c:#x}");
        }
    }
}
