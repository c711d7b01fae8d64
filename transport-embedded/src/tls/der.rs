//! Just enough DER to read what webpki does not hand over: one element at a time, and
//! ECDSA signatures (`SEQUENCE { INTEGER r, INTEGER s }`), strictly: lengths in their
//! shortest form, integers positive and minimal.

/// One DER element: its tag, its content, the whole element, and what follows it.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Element<'a> {
    pub(super) tag: u8,
    pub(super) content: &'a [u8],
    pub(super) whole: &'a [u8],
    pub(super) rest: &'a [u8],
}

/// The DER element at the start of `input` (one-byte tags, lengths up to three bytes, each
/// in its shortest form as DER requires).
pub(super) fn element(input: &[u8]) -> Option<Element<'_>> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = match first {
        0..=0x7f => (usize::from(first), rest),
        0x81..=0x83 => {
            let n = usize::from(first & 0x7f);
            let bytes = rest.get(..n)?;
            let len = bytes.iter().fold(0usize, |a, &b| (a << 8) | usize::from(b));
            // A length that a shorter form could say (0x81 0x05, 0x82 0x00 0xff) is BER.
            if len < 0x80 || bytes.first() == Some(&0) {
                return None;
            }
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

/// The `N`-byte big-endian value of a DER INTEGER that must be positive and minimally
/// encoded, as an ECDSA scalar.
fn scalar<const N: usize>(int: &[u8]) -> Option<[u8; N]> {
    let digits = match int.split_first()? {
        // A leading zero only where the next byte would read as negative.
        (0, rest) if rest.first().is_some_and(|&b| b >= 0x80) => rest,
        (first, _) if *first < 0x80 && *first != 0 => int,
        (0, []) => int,
        _ => return None,
    };
    let mut out = [0u8; N];
    let start = out.len().checked_sub(digits.len())?;
    out.get_mut(start..)?.copy_from_slice(digits);
    Some(out)
}

/// The `r` and `s` of a DER-encoded ECDSA signature over a curve of `N`-byte scalars (32
/// for P-256, 48 for P-384); `None` for anything but exactly one SEQUENCE of two positive,
/// minimal INTEGERs of at most `N` bytes.
pub(super) fn ecdsa_signature<const N: usize>(der: &[u8]) -> Option<([u8; N], [u8; N])> {
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
        let mut long = vec![0x04, 0x81, 0x80];
        long.extend([7u8; 0x80]);
        let element_of_long = element(&long).unwrap();
        assert_eq!(
            (element_of_long.tag, element_of_long.content.len()),
            (4, 0x80)
        );
        assert_eq!(element_of_long.whole.len(), long.len());
        // Lengths a shorter form could say: BER, not DER.
        assert_eq!(element(&[0x30, 0x81, 0x01, 7]), None);
        assert_eq!(element(&[0x30, 0x81, 0x7f]), None);
        let mut padded = vec![0x04, 0x82, 0x00, 0x80];
        padded.extend([7u8; 0x80]);
        assert_eq!(element(&padded), None);
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
        assert_eq!(ecdsa_signature::<32>(&good), Some((r, s)));
        // A missing leading zero (negative), a needless one, trailing bytes, a third
        // integer, 33 significant bytes.
        assert_eq!(
            ecdsa_signature::<32>(&[0x30, 0x06, 0x02, 0x01, 0x85, 0x02, 0x01, 0x05]),
            None
        );
        assert_eq!(
            ecdsa_signature::<32>(&[0x30, 0x07, 0x02, 0x02, 0x00, 0x05, 0x02, 0x01, 0x05]),
            None
        );
        let mut trailing = good.clone();
        trailing.push(0);
        assert_eq!(ecdsa_signature::<32>(&trailing), None);
        assert_eq!(
            ecdsa_signature::<32>(&[
                0x30, 0x09, 0x02, 0x01, 0x05, 0x02, 0x01, 0x05, 0x02, 0x01, 0x05
            ]),
            None
        );
        let mut long = vec![0x30, 0x26, 0x02, 0x01, 0x05, 0x02, 0x21, 0x01];
        long.extend([0u8; 32]);
        assert_eq!(ecdsa_signature::<32>(&long), None);
        for n in 0..good.len() {
            assert_eq!(ecdsa_signature::<32>(&good[..n]), None);
        }
    }

    #[test]
    fn p384_signatures_take_48_bytes() {
        // r = 2^383 (49 bytes with its leading zero), s = 1.
        let mut der = vec![0x30, 0x36, 0x02, 0x31, 0x00, 0x80];
        der.extend([0u8; 47]);
        der.extend([0x02, 0x01, 0x01]);
        let mut r = [0u8; 48];
        r[0] = 0x80;
        let mut s = [0u8; 48];
        s[47] = 1;
        assert_eq!(ecdsa_signature::<48>(&der), Some((r, s)));
        // Too long for P-256; 49 significant bytes too long for P-384.
        assert_eq!(ecdsa_signature::<32>(&der), None);
        let mut long = vec![0x30, 0x36, 0x02, 0x31, 0x01];
        long.extend([0u8; 48]);
        long.extend([0x02, 0x01, 0x01]);
        assert_eq!(ecdsa_signature::<48>(&long), None);
        for n in 0..der.len() {
            assert_eq!(ecdsa_signature::<48>(&der[..n]), None);
        }
    }
}
