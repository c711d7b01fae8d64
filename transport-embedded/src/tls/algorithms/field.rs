//! Arithmetic modulo an odd `m < 2^384` in Montgomery form (`a` is kept as `a * R mod m`,
//! `R = 2^384`), on `crypto-bigint`'s fixed-size integers: one instance of its
//! multiplication and reduction serves both curves' fields and group orders. Shared by the
//! P-384 and Ed25519 verifiers, with their double-scalar multiplication.
//!
//! The elements are bare `Int`s, with the modulus's constants in one [`Modulus`] per modulus,
//! rather than `crypto-bigint`'s `DynResidue`, whose every value carries a copy of those
//! constants (196 bytes at 384 bits on a 32-bit target) through every operation; its
//! `DynResidueParams` still works them out, at compile time.

use crypto_bigint::modular::montgomery_reduction;
use crypto_bigint::modular::runtime_mod::{DynResidue, DynResidueParams};
use crypto_bigint::{Limb, U256, U384, Word};

/// The integers everything is computed with: 384 bits, as 12 limbs on 32-bit targets.
pub(super) type Int = U384;

/// A 256-bit constant, widened.
pub(super) const fn wide(x: U256) -> Int {
    x.resize()
}

/// An odd modulus and its Montgomery constants.
#[derive(Debug)]
pub(super) struct Modulus {
    m: Int,
    /// `-m^-1 mod 2^Word::BITS`.
    neg_inv: Limb,
    /// `R mod m`: one, in Montgomery form.
    one: Int,
    /// `R^2 mod m`: multiplying by it brings an integer into Montgomery form.
    r2: Int,
}

impl Modulus {
    /// The constants for `m`, which must be odd (evaluated at compile time: an even
    /// constant does not compile).
    pub(super) const fn new(m: Int) -> Self {
        let params = DynResidueParams::new(&m);
        let one = *DynResidue::one(params).as_montgomery();
        let r2 = *DynResidue::new(&one, params).as_montgomery();
        // Newton's iteration for m^-1 mod 2^Word::BITS: an odd m is its own inverse
        // mod 8, and each step doubles the bits that are right (3, 6, .., 96).
        let m0: Word = m.as_words()[0];
        let mut inv = m0;
        let mut i = 0;
        while i < 5 {
            inv = inv.wrapping_mul((2 as Word).wrapping_sub(m0.wrapping_mul(inv)));
            i += 1;
        }
        Self {
            m,
            neg_inv: Limb(inv.wrapping_neg()),
            one,
            r2,
        }
    }

    /// The modulus.
    pub(super) const fn modulus(&self) -> &Int {
        &self.m
    }

    /// One, in Montgomery form.
    pub(super) const fn one(&self) -> Int {
        self.one
    }

    /// `a * b` (both in Montgomery form, and so is the product).
    pub(super) const fn mul(&self, a: &Int, b: &Int) -> Int {
        montgomery_reduction(&a.mul_wide(b), &self.m, self.neg_inv)
    }

    /// `a + b`, for `a, b < m`.
    pub(super) const fn add(&self, a: &Int, b: &Int) -> Int {
        a.add_mod(b, &self.m)
    }

    /// `a - b`, for `a, b < m`.
    pub(super) const fn sub(&self, a: &Int, b: &Int) -> Int {
        a.sub_mod(b, &self.m)
    }

    /// The Montgomery form of `x mod m`, for any `x < 2^384` (`x * R^2 < R * m`, which
    /// Montgomery reduction takes).
    pub(super) const fn to_montgomery(&self, x: &Int) -> Int {
        self.mul(x, &self.r2)
    }

    /// The integer (below `m`) that `a`, in Montgomery form, stands for.
    pub(super) const fn retrieve(&self, a: &Int) -> Int {
        montgomery_reduction(&(*a, Int::ZERO), &self.m, self.neg_inv)
    }

    /// `a^e`, square and multiply, in variable time (`e` is public).
    pub(super) fn pow(&self, a: &Int, e: &Int) -> Int {
        let mut acc = self.one;
        for i in (0..e.bits_vartime()).rev() {
            acc = self.mul(&acc, &acc);
            if e.bit_vartime(i) {
                acc = self.mul(&acc, a);
            }
        }
        acc
    }

    /// `a^-1` for a prime modulus (`a^(m-2)`, Fermat); zero for zero.
    pub(super) fn invert(&self, a: &Int) -> Int {
        self.pow(a, &self.m.wrapping_sub(&Int::from_u8(2)))
    }
}

/// The integer of (at most 48) little-endian bytes.
pub(super) fn from_le(bytes: &[u8]) -> Int {
    let mut wide = [0u8; Int::BYTES];
    wide.iter_mut().zip(bytes).for_each(|(w, b)| *w = *b);
    Int::from_le_slice(&wide)
}

/// The lowest 32 bytes of `x`, little-endian.
pub(super) fn to_le(x: &Int) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (chunk, word) in out.chunks_exact_mut(Limb::BYTES).zip(x.as_words()) {
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    out
}

/// A point in projective coordinates, in Montgomery form: `X, Y, Z` for P-384 (the
/// fourth unused) and `X, Y, Z, T` for Ed25519. One type, so that the double-scalar
/// multiplication below exists once.
pub(super) type Point = [Int; 4];

/// `[a]P + [b]Q` with Shamir's trick (a doubling per bit and at most one addition),
/// given a complete addition law `add`, which also doubles, and its neutral element.
/// Variable time: the scalars are public.
pub(super) fn double_mul(
    add: fn(&Point, &Point) -> Point,
    identity: &Point,
    (a, p): (&Int, &Point),
    (b, q): (&Int, &Point),
) -> Point {
    let pq = add(p, q);
    let mut acc = *identity;
    for i in (0..a.bits_vartime().max(b.bits_vartime())).rev() {
        acc = add(&acc, &acc);
        let term = match (a.bit_vartime(i), b.bit_vartime(i)) {
            (true, true) => &pq,
            (true, false) => p,
            (false, true) => q,
            (false, false) => continue,
        };
        acc = add(&acc, term);
    }
    acc
}
