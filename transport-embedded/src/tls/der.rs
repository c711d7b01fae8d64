//! Just enough DER to read what webpki does not hand over: one element at a time, and
//! ECDSA signatures (`SEQUENCE { INTEGER r, INTEGER s }`), strictly.

/// One DER element: its tag, its content, the whole element, and what follows it.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Element<'a> {
    pub(super) tag: u8,
    pub(super) content: &'a [u8],
    pub(super) whole: &'a [u8],
    pub(super) rest: &'a [u8],
}

/// The DER element at the start of `input` (one-byte tags, lengths up to three bytes).
pub(super) fn element(input: &[u8]) -> Option<Element<'_>> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = match first {
        0..=0x7f => (usize::from(first), rest),
        0x81..=0x83 => {
            let n = usize::from(first & 0x7f);
            let bytes = rest.get(..n)?;
            let len = bytes.iter().fold(0usize, |a, &b| (a << 8) | usize::from(b));
            (len, rest.get(n..)?)
        }
        _ => return None,
    };
    Some(Element {
        tag,
        content: rest.get(..len)?,
        whole: input.get(..input.len() - rest.len() + len)?,
        rest: rest.get(len..)?,
    })
}

/// The 32-byte big-endian value of a DER INTEGER that must be positive and minimally
/// encoded, as an ECDSA P-256 scalar.
fn scalar(int: &[u8]) -> Option<[u8; 32]> {
    let digits = match int.split_first()? {
        // A leading zero only where the next byte would read as negative.
        (0, rest) if rest.first().is_some_and(|&b| b >= 0x80) => rest,
        (first, _) if *first < 0x80 && *first != 0 => int,
        (0, []) => int,
        _ => return None,
    };
    let mut out = [0u8; 32];
    let start = out.len().checked_sub(digits.len())?;
    out.get_mut(start..)?.copy_from_slice(digits);
    Some(out)
}

/// The `r` and `s` of a DER-encoded ECDSA P-256 signature; `None` for anything but exactly
/// one SEQUENCE of two positive, minimal INTEGERs of at most 32 bytes.
pub(super) fn ecdsa_p256_signature(der: &[u8]) -> Option<([u8; 32], [u8; 32])> {
    let seq = element(der)?;
    if seq.tag != 0x30 || !seq.rest.is_empty() {
        return None;
    }
    let r = element(seq.content)?;
    let s = element(r.rest)?;
    if r.tag != 0x02 || s.tag != 0x02 || !s.rest.is_empty() {
        return None;
    }
    Some((scalar(r.content)?, scalar(s.content)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec;

    #[test]
    fn elements_are_bounded() {
        let e = |tag, content: &'static [u8], whole: &'static [u8], rest: &'static [u8]| {
            Some(Element {
                tag,
                content,
                whole,
                rest,
            })
        };
        assert_eq!(
            element(&[0x30, 0x02, 1, 2, 9]),
            e(0x30, &[1, 2], &[0x30, 2, 1, 2], &[9])
        );
        assert_eq!(
            element(&[0x30, 0x81, 0x01, 7]),
            e(0x30, &[7], &[0x30, 0x81, 1, 7], &[])
        );
        // Truncated content, truncated length, indefinite and over-long length forms.
        assert_eq!(element(&[0x30, 0x03, 1, 2]), None);
        assert_eq!(element(&[0x30, 0x82, 0x01]), None);
        assert_eq!(element(&[0x30, 0x80, 0, 0]), None);
        assert_eq!(element(&[0x30, 0x84, 0, 0, 0, 1, 0]), None);
        assert_eq!(element(&[0x30]), None);
        assert_eq!(element(&[]), None);
    }

    #[test]
    fn ecdsa_signatures_are_read_strictly() {
        let mut r = [0u8; 32];
        r[31] = 5;
        let mut s = [0u8; 32];
        s[0] = 0x80;
        let mut good = vec![0x30, 0x26, 0x02, 0x01, 0x05, 0x02, 0x21, 0x00, 0x80];
        good.extend([0u8; 31]);
        assert_eq!(ecdsa_p256_signature(&good), Some((r, s)));
        // A missing leading zero (negative), a needless one, trailing bytes, a third
        // integer, 33 significant bytes.
        assert_eq!(
            ecdsa_p256_signature(&[0x30, 0x06, 0x02, 0x01, 0x85, 0x02, 0x01, 0x05]),
            None
        );
        assert_eq!(
            ecdsa_p256_signature(&[0x30, 0x07, 0x02, 0x02, 0x00, 0x05, 0x02, 0x01, 0x05]),
            None
        );
        let mut trailing = good.clone();
        trailing.push(0);
        assert_eq!(ecdsa_p256_signature(&trailing), None);
        assert_eq!(
            ecdsa_p256_signature(&[
                0x30, 0x09, 0x02, 0x01, 0x05, 0x02, 0x01, 0x05, 0x02, 0x01, 0x05
            ]),
            None
        );
        let mut long = vec![0x30, 0x26, 0x02, 0x01, 0x05, 0x02, 0x21, 0x01];
        long.extend([0u8; 32]);
        assert_eq!(ecdsa_p256_signature(&long), None);
        for n in 0..good.len() {
            assert_eq!(ecdsa_p256_signature(&good[..n]), None);
        }
    }
}
