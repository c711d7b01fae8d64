//! ECDSA verification over P-384 (SEC 1 v2, 4.1.4), strictly: the key only as an
//! uncompressed point on the curve, `r` and `s` in `[1, n-1]`. Points are added with the
//! complete formulas for `a = -3` of Renes, Costello and Batina (2015, algorithm 4, as
//! RustCrypto's `primeorder` writes them), which also double, so that no input (equal
//! points, the identity, a point and its negation) needs a case of its own. Variable time:
//! keys, signatures and messages are public.

use super::field::{self, Int, Modulus, Point};

/// The field: `p = 2^384 - 2^128 - 2^96 + 2^32 - 1`.
const P: Modulus = Modulus::new(Int::from_be_hex(
    "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffff",
));

/// The group order `n`.
const N: Modulus = Modulus::new(Int::from_be_hex(
    "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973",
));

/// The curve's `b` (`y^2 = x^3 - 3x + b`), in Montgomery form.
const B: Int = P.to_montgomery(&Int::from_be_hex(
    "b3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aef",
));

/// The generator, in Montgomery form.
const G: Point = [
    P.to_montgomery(&Int::from_be_hex(
        "aa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a385502f25dbf55296c3a545e3872760ab7",
    )),
    P.to_montgomery(&Int::from_be_hex(
        "3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c00a60b1ce1d7e819d7a431d7c90ea0e5f",
    )),
    P.one(),
    Int::ZERO,
];

/// The point at infinity, `(0 : 1 : 0)`.
const IDENTITY: Point = [Int::ZERO, P.one(), Int::ZERO, Int::ZERO];

/// Bytes of a coordinate or a scalar.
const LEN: usize = 48;

/// Checks the DER `signature` with the SEC1 `public_key` over a message whose hash is
/// `digest` (SHA-384's or SHA-256's); `None` if anything is wrong.
pub(super) fn verify(public_key: &[u8], digest: &[u8], signature: &[u8]) -> Option<()> {
    let q = public_key_point(public_key)?;
    let (r, s) = super::super::der::ecdsa_signature::<LEN>(signature)?;
    let (r, s) = (scalar(&r)?, scalar(&s)?);
    let e = N.to_montgomery(&bits2int(digest));
    let w = N.invert(&s);
    let u1 = N.retrieve(&N.mul(&e, &w));
    let u2 = N.retrieve(&N.mul(&r, &w));
    let [x, _, z, _] = field::double_mul(add, &IDENTITY, (&u1, &G), (&u2, &q));
    if z == Int::ZERO {
        return None;
    }
    let x = P.retrieve(&P.mul(&x, &P.invert(&z)));
    // x < p < 2^384: its Montgomery form mod n is that of x mod n.
    (N.to_montgomery(&x) == r).then_some(())
}

/// `04 || x || y` with `x, y < p` and `(x, y)` on the curve, as a point.
fn public_key_point(key: &[u8]) -> Option<Point> {
    let (&tag, xy) = key.split_first()?;
    let (x, y) = xy.split_at_checked(LEN)?;
    let (x, y) = (
        coordinate(x.try_into().ok()?)?,
        coordinate(y.try_into().ok()?)?,
    );
    if tag != 4 {
        return None;
    }
    let three = P.to_montgomery(&Int::from_u8(3));
    let x3_ax_b = P.add(&P.sub(&P.mul(&P.mul(&x, &x), &x), &P.mul(&three, &x)), &B);
    (P.mul(&y, &y) == x3_ax_b).then_some([x, y, P.one(), Int::ZERO])
}

/// A coordinate below `p`, in Montgomery form.
fn coordinate(bytes: &[u8; LEN]) -> Option<Int> {
    let c = Int::from_be_slice(bytes);
    (c < *P.modulus()).then(|| P.to_montgomery(&c))
}

/// A scalar in `[1, n-1]`, in Montgomery form mod `n`.
fn scalar(bytes: &[u8; LEN]) -> Option<Int> {
    let c = Int::from_be_slice(bytes);
    (c != Int::ZERO && c < *N.modulus()).then(|| N.to_montgomery(&c))
}

/// SEC1's bits2int for a 384-bit group: the digest's leftmost 384 bits as an integer (a
/// shorter digest as it is).
fn bits2int(digest: &[u8]) -> Int {
    let mut bytes = [0u8; LEN];
    let n = digest.len().min(LEN);
    if let (Some(to), Some(from)) = (bytes.get_mut(LEN - n..), digest.get(..n)) {
        to.copy_from_slice(from);
    }
    Int::from_be_slice(&bytes)
}

/// The complete addition of Renes, Costello and Batina, algorithm 4 (`a = -3`); also
/// doubles. The numbers are the algorithm's steps.
fn add([x1, y1, z1, _]: &Point, [x2, y2, z2, _]: &Point) -> Point {
    let mul = |a: &Int, b: &Int| P.mul(a, b);
    let add = |a: &Int, b: &Int| P.add(a, b);
    let sub = |a: &Int, b: &Int| P.sub(a, b);
    let triple = |a: &Int| add(&add(a, a), a);

    let xx = mul(x1, x2); // 1
    let yy = mul(y1, y2); // 2
    let zz = mul(z1, z2); // 3
    let xy_pairs = sub(&mul(&add(x1, y1), &add(x2, y2)), &add(&xx, &yy)); // 4-8
    let yz_pairs = sub(&mul(&add(y1, z1), &add(y2, z2)), &add(&yy, &zz)); // 9-13
    let xz_pairs = sub(&mul(&add(x1, z1), &add(x2, z2)), &add(&xx, &zz)); // 14-18

    let bzz3_part = triple(&sub(&xz_pairs, &mul(&B, &zz))); // 19-22
    let yy_m_bzz3 = sub(&yy, &bzz3_part); // 23
    let yy_p_bzz3 = add(&yy, &bzz3_part); // 24

    let zz3 = triple(&zz); // 26, 27
    let bxz3_part = triple(&sub(&mul(&B, &xz_pairs), &add(&zz3, &xx))); // 25, 28-31
    let xx3_m_zz3 = sub(&triple(&xx), &zz3); // 32-34

    [
        sub(&mul(&yy_p_bzz3, &xy_pairs), &mul(&yz_pairs, &bxz3_part)), // 35, 39, 40
        add(&mul(&yy_p_bzz3, &yy_m_bzz3), &mul(&xx3_m_zz3, &bxz3_part)), // 36-38
        add(&mul(&yy_m_bzz3, &yz_pairs), &mul(&xy_pairs, &xx3_m_zz3)), // 41-43
        Int::ZERO,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The 48 big-endian bytes of `x`.
    fn be(x: &Int) -> [u8; 48] {
        let mut out = [0u8; 48];
        for (chunk, word) in out
            .rchunks_exact_mut(crypto_bigint::Limb::BYTES)
            .zip(x.as_words())
        {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        out
    }

    /// The uncompressed encoding of the generator.
    fn generator() -> [u8; 97] {
        let mut g = [0u8; 97];
        g[0] = 4;
        g[1..49].copy_from_slice(&be(&P.retrieve(&G[0])));
        g[49..].copy_from_slice(&be(&P.retrieve(&G[1])));
        g
    }

    /// The affine x of a point (zero for the identity).
    fn affine_x(p: &Point) -> Int {
        P.retrieve(&P.mul(&p[0], &P.invert(&p[2])))
    }

    #[test]
    fn the_generator_is_on_the_curve_and_of_order_n() {
        let g = generator();
        assert_eq!(public_key_point(&g), Some(G));
        let n_minus_1 = N.modulus().wrapping_sub(&Int::ONE);
        let minus_g = field::double_mul(add, &IDENTITY, (&n_minus_1, &G), (&Int::ZERO, &G));
        assert_eq!(affine_x(&minus_g), P.retrieve(&G[0]));
        let infinity = field::double_mul(add, &IDENTITY, (&n_minus_1, &G), (&Int::ONE, &G));
        assert_eq!(infinity[2], Int::ZERO);
        // Doubling, adding the identity, adding a point to its negation.
        let two_g = add(&G, &G);
        assert_eq!(
            affine_x(&add(&two_g, &IDENTITY)),
            affine_x(&field::double_mul(
                add,
                &IDENTITY,
                (&Int::from_u8(2), &G),
                (&Int::ZERO, &G)
            ))
        );
        assert_eq!(add(&G, &minus_g)[2], Int::ZERO);
    }

    #[test]
    fn keys_are_read_strictly() {
        let g = generator();
        for n in 0..g.len() {
            assert_eq!(public_key_point(&g[..n]), None);
        }
        let mut compressed = g;
        compressed[0] = 2;
        assert_eq!(public_key_point(&compressed), None);
        let mut off_curve = g;
        off_curve[96] ^= 1;
        assert_eq!(public_key_point(&off_curve), None);
        // A coordinate equal to p (the residue 0, encoded out of range) is refused.
        let mut x_is_p = g;
        x_is_p[1..49].copy_from_slice(&be(P.modulus()));
        assert_eq!(public_key_point(&x_is_p), None);
    }

    #[test]
    fn scalars_must_be_in_range() {
        assert_eq!(scalar(&[0; 48]), None);
        assert_eq!(scalar(&be(N.modulus())), None);
        assert!(scalar(&be(&N.modulus().wrapping_sub(&Int::ONE))).is_some());
        let mut one = [0; 48];
        one[47] = 1;
        assert_eq!(scalar(&one), Some(N.one()));
    }

    #[test]
    fn bits2int_takes_the_leftmost_bits() {
        let mut long = [0u8; 64];
        long[0] = 0xab;
        long[63] = 0xcd;
        let mut expected = [0u8; 48];
        expected[0] = 0xab;
        assert_eq!(bits2int(&long), Int::from_be_slice(&expected));
        assert_eq!(bits2int(&[7; 1]), Int::from_u8(7));
        assert_eq!(bits2int(&[]), Int::ZERO);
    }
}
