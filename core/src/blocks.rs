//! Searching bytes 16 at a time, for the host fast paths (feature `fast`).
//!
//! The test on each block is a branch-free fold over its 16 bytes, which the compiler turns
//! into a few vector compares and one mask test; only the block that holds the first match is
//! searched again, by the caller's own means. Safe code only: the speed comes from the shape
//! of the loop, not from intrinsics.

/// Index of the first byte of `s` for which `hit` holds.
///
/// `hit` must be branch-free for the block test to vectorize. `locate` finds the first hit
/// within a 16-byte block known to hold one (it may use word arithmetic, a table, or `hit`
/// again). A tail shorter than 16 bytes is searched as the last 16 bytes of `s`, which overlap
/// bytes already known to hold no hit; only an `s` shorter than 16 bytes is searched byte by
/// byte.
#[inline(always)]
pub(crate) fn first_match(
    s: &[u8],
    hit: impl Fn(u8) -> bool,
    locate: impl Fn(&[u8; 16]) -> Option<usize>,
) -> Option<usize> {
    let any = |block: &[u8; 16]| block.iter().fold(0u8, |any, &b| any | u8::from(hit(b))) != 0;
    let (blocks, tail) = s.as_chunks::<16>();
    for (i, block) in blocks.iter().enumerate() {
        if any(block) {
            return locate(block).map(|p| i * 16 + p);
        }
    }
    if tail.is_empty() {
        return None;
    }
    match s.last_chunk::<16>() {
        Some(last) if any(last) => locate(last).map(|p| s.len() - 16 + p),
        Some(_) => None,
        None => tail.iter().position(|&b| hit(b)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_first_hit_at_every_offset_and_length() {
        let locate = |block: &[u8; 16]| block.iter().position(|&b| b == b'x');
        for len in 0..70 {
            assert_eq!(
                first_match(&std::vec![b'a'; len], |b| b == b'x', locate),
                None
            );
            for at in 0..len {
                let mut s = std::vec![b'a'; len];
                s[at] = b'x';
                if at + 5 < len {
                    s[at + 5] = b'x';
                }
                assert_eq!(
                    first_match(&s, |b| b == b'x', locate),
                    Some(at),
                    "{len} {at}"
                );
            }
        }
    }
}
