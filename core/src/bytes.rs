//! Byte helpers the encoders and parsers share.

/// Moves `len` bytes of `buf` from `from` down to `to` (`to <= from`; the ranges may overlap).
///
/// Not `copy_within`: on a Cortex-M that links compiler-builtins' `memmove` (about 1.5 KiB of
/// flash). A move down by `gap` bytes is a series of copies of `gap` bytes that do not
/// overlap, each a `memcpy` (which every firmware links anyway); gaps below a word's worth of
/// bytes, where a call per piece would cost more, are moved byte by byte. Out-of-range
/// arguments move nothing.
pub(crate) fn move_down(buf: &mut [u8], from: usize, to: usize, len: usize) {
    if to >= from || from.saturating_add(len) > buf.len() {
        return;
    }
    let gap = from - to;
    if gap < 8 {
        for i in 0..len {
            if let Some(&b) = buf.get(from + i)
                && let Some(slot) = buf.get_mut(to + i)
            {
                *slot = b;
            }
        }
        return;
    }
    let mut done = 0;
    while done < len {
        let step = gap.min(len - done);
        // The destination ends at or before `from + done`, where the source starts.
        let (low, high) = buf.split_at_mut(from + done);
        if let (Some(dst), Some(src)) = (low.get_mut(to + done..to + done + step), high.get(..step))
        {
            dst.copy_from_slice(src);
        }
        done += step;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_like_copy_within_for_every_gap_and_length() {
        for len in 0..40 {
            for to in 0..20 {
                for from in to..40 {
                    let mut want: std::vec::Vec<u8> = (0..80).collect();
                    let mut got = want.clone();
                    want.copy_within(from..from + len, to);
                    move_down(&mut got, from, to, len);
                    assert_eq!(got, want, "from {from} to {to} len {len}");
                }
            }
        }
        let mut buf = [1u8, 2, 3];
        move_down(&mut buf, 2, 0, 5);
        move_down(&mut buf, 0, 1, 1);
        assert_eq!(buf, [1, 2, 3]);
    }
}
