//! Byte helpers the encoders and parsers share.

/// Moves `len` bytes of `buf` from `from` down to `to` (`to <= from`; the ranges may overlap).
///
/// A plain loop instead of `copy_within`: on a Cortex-M, `copy_within` links
/// compiler-builtins' `memmove` (about 1.5 KiB of flash), and these moves (chunk data, string
/// escapes) are a few KiB at most. Out-of-range arguments move nothing.
pub(crate) fn move_down(buf: &mut [u8], from: usize, to: usize, len: usize) {
    if to > from || from.saturating_add(len) > buf.len() {
        return;
    }
    for i in 0..len {
        if let Some(&b) = buf.get(from + i)
            && let Some(slot) = buf.get_mut(to + i)
        {
            *slot = b;
        }
    }
}
