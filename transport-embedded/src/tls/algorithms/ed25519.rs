//! Ed25519 verification (RFC 8032, 5.1.7) as Wycheproof expects it: `S` below the group
//! order `L`, the public key `A` decoded strictly (RFC 8032, 5.1.3: `y < p`, `x` exists, no
//! negative zero), `k = SHA-512(R || A || M) mod L`, and `R` must be the encoding of
//! `[S]B - [k]A`: the equation without the cofactor, checked as ed25519-dalek's `verify`
//! does (which also refuses any `R` that is not a canonical encoding). Points are in
//! extended twisted Edwards coordinates, added with the unified formula of Hisil, Wong,
//! Carter and Dawson (2008), complete on this curve (`a = -1` is a square and `d` is not),
//! which also doubles. Variable time: every input is public.

use crypto_bigint::U256;
use sha2::{Digest as _, Sha512};

use super::field::{self, Int, Modulus, Point, wide};

/// The field: `p = 2^255 - 19`.
const P: Modulus = Modulus::new(wide(U256::from_be_hex(
    "7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffed",
)));

/// The order of the base point, `L = 2^252 + 27742317777372353535851937790883648493`.
const L: Modulus = Modulus::new(wide(U256::from_be_hex(
    "1000000000000000000000000000000014def9dea2f79cd65812631a5cf5d3ed",
)));

/// `d = -121665 / 121666` (`-x^2 + y^2 = 1 + d x^2 y^2`), in Montgomery form.
const D: Int = P.to_montgomery(&wide(U256::from_be_hex(
    "52036cee2b6ffe738cc740797779e89800700a4d4141d8ab75eb4dca135978a3",
)));

/// `2d`, in Montgomery form.
const D2: Int = P.add(&D, &D);

/// `2^((p-1)/4)`, a square root of -1, in Montgomery form.
const SQRT_M1: Int = P.to_montgomery(&wide(U256::from_be_hex(
    "2b8324804fc1df0b2b4d00993dfbd7a72f431806ad2fe478c4ee1b274a0ea0b0",
)));

/// `(p - 5) / 8`, the exponent of the square root (RFC 8032, 5.1.3).
const P_MINUS_5_OVER_8: Int = wide(U256::from_be_hex(
    "0ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffd",
));

/// The base point `B` (`y = 4/5`, `x` even), in Montgomery form.
const BASE: Point = {
    let x = P.to_montgomery(&wide(U256::from_be_hex(
        "216936d3cd6e53fec0a4e231fdd6dc5c692cc7609525a7b2c9562d608f25d51a",
    )));
    let y = P.to_montgomery(&wide(U256::from_be_hex(
        "6666666666666666666666666666666666666666666666666666666666666658",
    )));
    [x, y, P.one(), P.mul(&x, &y)]
};

/// The neutral element `(0, 1)`.
const IDENTITY: Point = [Int::ZERO, P.one(), P.one(), Int::ZERO];

/// Checks the 64-byte `signature` over `message` with the 32-byte `public_key`; `None` if
/// anything is wrong.
pub(super) fn verify(public_key: &[u8], message: &[u8], signature: &[u8]) -> Option<()> {
    let key: &[u8; 32] = public_key.try_into().ok()?;
    let signature: &[u8; 64] = signature.try_into().ok()?;
    let (r, s) = signature.split_first_chunk::<32>()?;
    let s = field::from_le(s);
    if s >= *L.modulus() {
        return None;
    }
    let [x, y, z, t] = decode(key)?;
    let minus_a = [P.sub(&Int::ZERO, &x), y, z, P.sub(&Int::ZERO, &t)];
    let k: [u8; 64] = Sha512::new()
        .chain_update(r)
        .chain_update(key)
        .chain_update(message)
        .finalize()
        .into();
    let k = reduce(&k);
    let check = field::double_mul(add, &IDENTITY, (&s, &BASE), (&k, &minus_a));
    (encode(&check) == *r).then_some(())
}

/// A 512-bit little-endian integer mod `L`: `lo + hi * 2^384`, where `hi * 2^384 mod L` is
/// the Montgomery form of `hi`.
fn reduce(bytes: &[u8; 64]) -> Int {
    let (lo, hi) = bytes.split_at(48);
    let lo = L.retrieve(&L.to_montgomery(&field::from_le(lo)));
    L.add(&lo, &L.to_montgomery(&field::from_le(hi)))
}

/// The point a public key encodes (RFC 8032, 5.1.3): `y` below `p`, then the `x` of that
/// `y` with the sign (parity) the top bit gives, refusing a negative zero.
fn decode(key: &[u8; 32]) -> Option<Point> {
    let mut y = *key;
    let sign = y[31] >> 7 == 1;
    y[31] &= 0x7f;
    let y = field::from_le(&y);
    if y >= *P.modulus() {
        return None;
    }
    let y = P.to_montgomery(&y);
    let one = P.one();
    // x^2 = u / v; x = u v^3 (u v^7)^((p-5)/8), times sqrt(-1) if that squares to -u / v.
    let yy = P.mul(&y, &y);
    let u = P.sub(&yy, &one);
    let v = P.add(&P.mul(&D, &yy), &one);
    let v3 = P.mul(&P.mul(&v, &v), &v);
    let v7 = P.mul(&P.mul(&v3, &v3), &v);
    let mut x = P.mul(&P.mul(&u, &v3), &P.pow(&P.mul(&u, &v7), &P_MINUS_5_OVER_8));
    let vxx = P.mul(&v, &P.mul(&x, &x));
    if vxx != u {
        if vxx != P.sub(&Int::ZERO, &u) {
            return None;
        }
        x = P.mul(&x, &SQRT_M1);
    }
    let x_int = P.retrieve(&x);
    if x_int.bit_vartime(0) != sign {
        if x_int == Int::ZERO {
            return None;
        }
        x = P.sub(&Int::ZERO, &x);
    }
    Some([x, y, one, P.mul(&x, &y)])
}

/// The 32-byte encoding of a point: `y`, and `x`'s parity in the top bit.
fn encode([x, y, z, _]: &Point) -> [u8; 32] {
    let z_inv = P.invert(z);
    let x = P.retrieve(&P.mul(x, &z_inv));
    let mut out = field::to_le(&P.retrieve(&P.mul(y, &z_inv)));
    if let Some(last) = out.last_mut() {
        *last |= u8::from(x.bit_vartime(0)) << 7;
    }
    out
}

/// The unified addition in extended coordinates (`add-2008-hwcd-3` with `k = 2d`); also
/// doubles.
fn add([x1, y1, z1, t1]: &Point, [x2, y2, z2, t2]: &Point) -> Point {
    let mul = |a: &Int, b: &Int| P.mul(a, b);
    let a = mul(&P.sub(y1, x1), &P.sub(y2, x2));
    let b = mul(&P.add(y1, x1), &P.add(y2, x2));
    let c = mul(&mul(t1, &D2), t2);
    let zz = mul(z1, z2);
    let d = P.add(&zz, &zz);
    let (e, f, g, h) = (P.sub(&b, &a), P.sub(&d, &c), P.add(&d, &c), P.add(&b, &a));
    [mul(&e, &f), mul(&g, &h), mul(&f, &g), mul(&e, &h)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex32(s: &str) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
        }
        out
    }

    fn small(n: u64) -> Int {
        P.to_montgomery(&Int::from_u64(n))
    }

    #[test]
    fn the_constants_are_right() {
        // d * 121666 = -121665, sqrt(-1)^2 = -1.
        assert_eq!(
            P.mul(&D, &small(121_666)),
            P.sub(&Int::ZERO, &small(121_665))
        );
        assert_eq!(P.mul(&SQRT_M1, &SQRT_M1), P.sub(&Int::ZERO, &P.one()));
        let base = hex32("5866666666666666666666666666666666666666666666666666666666666666");
        assert_eq!(encode(&BASE), base);
        let decoded = decode(&base).unwrap();
        assert_eq!(encode(&decoded), base);
        assert_eq!(decoded[0], BASE[0]);
        // [L]B is the neutral element; [L-1]B + B too.
        let l = *L.modulus();
        let identity = hex32("0100000000000000000000000000000000000000000000000000000000000000");
        assert_eq!(
            encode(&field::double_mul(
                add,
                &IDENTITY,
                (&l, &BASE),
                (&Int::ZERO, &BASE)
            )),
            identity
        );
        assert_eq!(encode(&IDENTITY), identity);
    }

    #[test]
    fn keys_are_decoded_strictly() {
        // y = p, and y = p + 1 (1 encoded out of range).
        let p = field::to_le(P.modulus());
        assert_eq!(decode(&p), None);
        let mut p1 = p;
        p1[0] += 1;
        assert_eq!(decode(&p1), None);
        // y = 1 is the neutral element (x = 0); with the sign bit set it is a negative zero.
        let mut one = [0u8; 32];
        one[0] = 1;
        assert!(decode(&one).is_some());
        one[31] = 0x80;
        assert_eq!(decode(&one), None);
        // y = 2: (y^2 - 1) / (d y^2 + 1) is not a square.
        let mut two = [0u8; 32];
        two[0] = 2;
        assert_eq!(decode(&two), None);
    }

    #[test]
    fn wide_hashes_are_reduced() {
        // 2^384 mod L, worked out independently.
        let mut bytes = [0u8; 64];
        bytes[48] = 1;
        assert_eq!(
            reduce(&bytes),
            wide(U256::from_be_hex(
                "02106215d086329a7ed9ce5a30a2c131b64a7f435e4fdd9539822129a02a6271"
            ))
        );
        assert_eq!(
            reduce(&[0xff; 64]).cmp_vartime(L.modulus()),
            core::cmp::Ordering::Less
        );
    }
}
