//! Records sealed with AES-128-GCM under a key the board supplies.
//!
//! A sealed record is `SEALED | nonce (12) | ciphertext | tag (16)`. The plaintext is the
//! plain record (format, client ID, tokens); the associated data binds a fixed label, the
//! sealed format's version, the map key the record is stored under and the client ID, so a
//! record moved from another device (another key), another client ID or another format does
//! not open.
//!
//! Keys: the board's 16-byte key `K` is never used directly. `HMAC-SHA256(K, label)` gives
//! the AES-128 key (its first 16 bytes) and, under a second label, a nonce key `N`.
//!
//! Nonces: `nonce = HMAC-SHA256(N, associated data | plaintext)[..12]`, a synthetic nonce
//! (the SIV construction). It needs no counter and no random source, so no state that a power
//! cut or a reboot could roll back: two writes share a nonce only if they seal the same
//! plaintext for the same client ID under the same key, and then they are the same bytes (GCM
//! leaks nothing from a repeated nonce with a repeated message). Two different plaintexts
//! share a nonce with probability 2^-96 per pair (HMAC-SHA256 as a PRF), about 2^-57 after
//! 2^20 writes, far more than a NOR page endures. The price: a record written twice with the
//! same tokens is recognisably the same (the store does not write an unchanged record anyway).

use core::fmt;

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes128Gcm, Nonce, Tag};
use hmac::{Hmac, Mac};
use lwa_core::request::MAX_CLIENT_ID_LEN;
use sha2::Sha256;
use zeroize::Zeroize;

/// Bytes of the board's key (AES-128).
pub const KEY_LEN: usize = 16;
/// The first byte of a sealed record, and its format version (bound as associated data).
pub(crate) const SEALED: u8 = 0x51;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// Bytes a sealed record adds to the plain one: its format byte, the nonce and the tag.
pub(crate) const OVERHEAD: usize = 1 + NONCE_LEN + TAG_LEN;
/// Where the plaintext (and then the ciphertext) starts in a sealed record.
pub(crate) const BODY: usize = 1 + NONCE_LEN;

const LABEL: &[u8] = b"lwa-embedded token record";
const ENCRYPTION_LABEL: &[u8] = b"lwa-embedded token record v1: aes-128-gcm key";
const NONCE_LABEL: &[u8] = b"lwa-embedded token record v1: nonce key";

/// Where a board's key for sealing the token record comes from: a secure element, an
/// eFuse/OTP block, a key derived by a peripheral (the ESP32's HMAC peripheral over an eFuse
/// key), or a key the application chooses ([`ApplicationKey`]). The store asks for it at
/// every load and store and wipes its copy (and the keys derived from it) afterwards.
///
/// ```
/// use lwa_embedded::flash::{KeyUnavailable, SealingKey, KEY_LEN};
///
/// /// A key read from the chip's one-time-programmable block (here a constant).
/// struct Otp;
/// impl SealingKey for Otp {
///     fn key(&mut self, key: &mut [u8; KEY_LEN]) -> Result<(), KeyUnavailable> {
///         key.copy_from_slice(&[0x42; KEY_LEN]); // a real board reads its OTP here
///         Ok(())
///     }
/// }
/// let mut key = [0; KEY_LEN];
/// Otp.key(&mut key)?;
/// assert_eq!(key, [0x42; KEY_LEN]);
/// # Ok::<(), KeyUnavailable>(())
/// ```
pub trait SealingKey {
    /// Writes the 16-byte key into `key`.
    ///
    /// # Errors
    /// [`KeyUnavailable`] when the key cannot be had (a secure element that does not
    /// answer): the store then loads nothing and writes nothing.
    fn key(&mut self, key: &mut [u8; KEY_LEN]) -> Result<(), KeyUnavailable>;
}

/// The board could not supply the sealing key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct KeyUnavailable;

impl fmt::Display for KeyUnavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the token store's sealing key is not available")
    }
}

impl core::error::Error for KeyUnavailable {}

/// A key the application holds, for boards without secret storage. It protects against what
/// the application's own storage of it protects against: a key compiled into the firmware
/// or kept in the same flash protects the token against casual reading only (see the
/// [module docs](super)). Zeroized on drop; its `Debug` shows no byte of it.
///
/// ```
/// use lwa_embedded::flash::{ApplicationKey, SealingKey, KEY_LEN};
/// let mut key = ApplicationKey::new([7; KEY_LEN]);
/// assert_eq!(format!("{key:?}"), "ApplicationKey(..)");
/// let mut out = [0; KEY_LEN];
/// key.key(&mut out).unwrap();
/// assert_eq!(out, [7; KEY_LEN]);
/// ```
pub struct ApplicationKey([u8; KEY_LEN]);

impl ApplicationKey {
    /// The key `key`.
    #[must_use]
    pub const fn new(key: [u8; KEY_LEN]) -> Self {
        Self(key)
    }
}

impl SealingKey for ApplicationKey {
    fn key(&mut self, key: &mut [u8; KEY_LEN]) -> Result<(), KeyUnavailable> {
        key.copy_from_slice(&self.0);
        Ok(())
    }
}

impl Drop for ApplicationKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for ApplicationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApplicationKey(..)")
    }
}

/// Why a stored record was not loaded. The store loads nothing instead (the device links
/// again) and keeps the reason ([`FlashStore::unopened`](super::FlashStore::unopened)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum OpenError {
    /// A sealed record that does not authenticate: another key (another device), another
    /// client ID, a changed or truncated byte. Nothing of it was decrypted.
    Sealed,
    /// A sealed record, and the store has no key.
    NoKey,
    /// A plain record where the store expects sealed ones (it would take a token anyone
    /// with write access to the flash could have put there).
    Plain,
    /// A plain record of another client ID.
    OtherClient,
    /// A record of no format this store knows.
    Format,
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Sealed => "the sealed token record does not open with this key and client ID",
            Self::NoKey => "the token record is sealed and the store has no key",
            Self::Plain => "the token record is not sealed",
            Self::OtherClient => "the token record belongs to another client ID",
            Self::Format => "the token record has an unknown format",
        })
    }
}

impl core::error::Error for OpenError {}

/// The sealing code, reached only through these pointers, which only
/// [`FlashStore::sealed`](super::FlashStore::sealed) hands out: a firmware that never seals
/// links no AES-GCM, HMAC or SHA-256 for its store (an unsealed store would otherwise carry
/// them, unused, since whether it has a key is only known at run time).
pub(crate) struct Ops {
    derive: fn(&mut dyn SealingKey) -> Result<Keys, KeyUnavailable>,
    seal: fn(&Keys, u8, &str, &mut [u8], usize) -> Option<usize>,
    open: OpenFn,
}

/// [`Keys::open`] as a pointer: the record in, its plaintext (in place) out.
type OpenFn = for<'r> fn(&Keys, u8, &str, &'r mut [u8]) -> Result<&'r [u8], OpenError>;

/// The one set of [`Ops`].
pub(crate) static OPS: Ops = Ops {
    derive: Keys::derive,
    seal: Keys::seal,
    open: Keys::open,
};

/// The keys of one operation and the code that uses them.
pub(crate) struct Sealer {
    keys: Keys,
    ops: &'static Ops,
}

impl Sealer {
    /// The keys for `board`'s key.
    pub(crate) fn derive(
        board: &mut dyn SealingKey,
        ops: &'static Ops,
    ) -> Result<Self, KeyUnavailable> {
        Ok(Self {
            keys: (ops.derive)(board)?,
            ops,
        })
    }

    /// As [`Keys::seal`].
    pub(crate) fn seal(
        &self,
        map_key: u8,
        client_id: &str,
        buf: &mut [u8],
        len: usize,
    ) -> Option<usize> {
        (self.ops.seal)(&self.keys, map_key, client_id, buf, len)
    }

    /// As [`Keys::open`].
    pub(crate) fn open<'r>(
        &self,
        map_key: u8,
        client_id: &str,
        record: &'r mut [u8],
    ) -> Result<&'r [u8], OpenError> {
        (self.ops.open)(&self.keys, map_key, client_id, record)
    }
}

/// The keys derived from the board's key for one operation; wiped on drop (aes-gcm's
/// `zeroize` feature wipes the cipher's round keys and GHASH key).
pub(crate) struct Keys {
    cipher: Aes128Gcm,
    nonce_key: [u8; 32],
}

impl Drop for Keys {
    fn drop(&mut self) {
        self.nonce_key.zeroize();
    }
}

/// `HMAC-SHA256(key, parts...)`.
fn hmac(key: &[u8], parts: &[&[u8]]) -> Result<[u8; 32], KeyUnavailable> {
    // HMAC takes keys of any length: this error cannot happen.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).map_err(|_| KeyUnavailable)?;
    for part in parts {
        mac.update(part);
    }
    Ok(mac.finalize().into_bytes().into())
}

/// The associated data: label, version, map key and client ID.
struct Associated {
    bytes: [u8; LABEL.len() + 3 + MAX_CLIENT_ID_LEN],
    len: usize,
}

impl Associated {
    fn new(map_key: u8, client_id: &str) -> Option<Self> {
        let cid = client_id.as_bytes();
        let cid_len = u8::try_from(cid.len()).ok()?;
        let mut bytes = [0u8; LABEL.len() + 3 + MAX_CLIENT_ID_LEN];
        let len = LABEL.len() + 3 + cid.len();
        let out = bytes.get_mut(..len)?;
        let (label, rest) = out.split_at_mut(LABEL.len());
        label.copy_from_slice(LABEL);
        let (head, tail) = rest.split_at_mut(3);
        head.copy_from_slice(&[SEALED, map_key, cid_len]);
        tail.copy_from_slice(cid);
        Some(Self { bytes, len })
    }

    fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }
}

impl Keys {
    /// The keys for `board`'s key.
    pub(crate) fn derive(board: &mut dyn SealingKey) -> Result<Self, KeyUnavailable> {
        let mut key = [0u8; KEY_LEN];
        let result = board.key(&mut key).and_then(|()| {
            let mut encryption = hmac(&key, &[ENCRYPTION_LABEL])?;
            let nonce_key = hmac(&key, &[NONCE_LABEL])?;
            let mut aes_key = [0u8; 16];
            aes_key.copy_from_slice(encryption.get(..16).unwrap_or_default());
            let cipher = Aes128Gcm::new(&aes_key.into());
            aes_key.zeroize();
            encryption.zeroize();
            Ok(Self { cipher, nonce_key })
        });
        key.zeroize();
        result
    }

    /// Seals the plaintext at `buf[BODY..BODY + len]` in place: `buf[..len + OVERHEAD]` is
    /// then the sealed record. `None` if `buf` is too short or the client ID too long.
    pub(crate) fn seal(
        &self,
        map_key: u8,
        client_id: &str,
        buf: &mut [u8],
        len: usize,
    ) -> Option<usize> {
        let ad = Associated::new(map_key, client_id)?;
        let (head, rest) = buf.split_at_mut_checked(BODY)?;
        let (body, rest) = rest.split_at_mut_checked(len)?;
        let tag_out = rest.get_mut(..TAG_LEN)?;
        let synthetic = hmac(&self.nonce_key, &[ad.as_bytes(), body]).ok()?;
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(synthetic.get(..NONCE_LEN)?);
        let tag = self
            .cipher
            .encrypt_in_place_detached(&Nonce::from(nonce), ad.as_bytes(), body)
            .ok()?;
        tag_out.copy_from_slice(&tag);
        let (format, nonce_out) = head.split_first_mut()?;
        *format = SEALED;
        nonce_out.copy_from_slice(&nonce);
        Some(len + OVERHEAD)
    }

    /// Opens the sealed record `record` in place: the plaintext, or an error with nothing
    /// decrypted (GCM checks the tag before it decrypts).
    pub(crate) fn open<'r>(
        &self,
        map_key: u8,
        client_id: &str,
        record: &'r mut [u8],
    ) -> Result<&'r [u8], OpenError> {
        let ad = Associated::new(map_key, client_id).ok_or(OpenError::OtherClient)?;
        let len = record
            .len()
            .checked_sub(OVERHEAD)
            .ok_or(OpenError::Sealed)?;
        let (head, rest) = record.split_at_mut(BODY.min(record.len()));
        let (body, tag) = rest.split_at_mut(len.min(rest.len()));
        let (Some((&SEALED, nonce)), true) = (head.split_first(), tag.len() == TAG_LEN) else {
            return Err(OpenError::Sealed);
        };
        let mut n = [0u8; NONCE_LEN];
        n.copy_from_slice(nonce.get(..NONCE_LEN).ok_or(OpenError::Sealed)?);
        let mut t = [0u8; TAG_LEN];
        t.copy_from_slice(tag);
        self.cipher
            .decrypt_in_place_detached(&Nonce::from(n), ad.as_bytes(), body, &Tag::from(t))
            .map_err(|_| OpenError::Sealed)?;
        Ok(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    const CLIENT: &str = "amzn1.application-oa2-client.1";

    fn keys(byte: u8) -> Sealer {
        Sealer::derive(&mut ApplicationKey::new([byte; KEY_LEN]), &OPS).unwrap()
    }

    fn sealed(keys: &Sealer, client: &str, plain: &[u8]) -> Vec<u8> {
        let mut buf = std::vec![0u8; plain.len() + OVERHEAD];
        buf[BODY..BODY + plain.len()].copy_from_slice(plain);
        let n = keys.seal(0, client, &mut buf, plain.len()).unwrap();
        assert_eq!(n, plain.len() + OVERHEAD);
        buf
    }

    const PLAIN: &[u8] = b"\x01\x05hello\x06\x00Atzr|1\x00";

    #[test]
    fn a_sealed_record_opens_to_its_plaintext_and_hides_it() {
        let k = keys(1);
        let mut record = sealed(&k, CLIENT, PLAIN);
        assert_eq!(record[0], SEALED);
        assert!(!record.windows(6).any(|w| w == b"Atzr|1"));
        assert_eq!(k.open(0, CLIENT, &mut record), Ok(PLAIN));
    }

    #[test]
    fn the_nonce_is_the_same_for_the_same_plaintext_only() {
        let k = keys(1);
        let a = sealed(&k, CLIENT, PLAIN);
        assert_eq!(a, sealed(&k, CLIENT, PLAIN));
        let mut other = PLAIN.to_vec();
        *other.last_mut().unwrap() = 1;
        let b = sealed(&k, CLIENT, &other);
        assert_ne!(a[1..BODY], b[1..BODY]);
        assert_ne!(a[1..BODY], sealed(&keys(2), CLIENT, PLAIN)[1..BODY]);
    }

    #[test]
    fn every_single_bit_flip_fails_to_open() {
        let k = keys(1);
        let record = sealed(&k, CLIENT, PLAIN);
        let mut flips = 0;
        for bit in 0..record.len() * 8 {
            let mut r = record.clone();
            r[bit / 8] ^= 1 << (bit % 8);
            assert_eq!(
                k.open(0, CLIENT, &mut r),
                Err(OpenError::Sealed),
                "bit {bit}"
            );
            // Nothing decrypted: the bytes are the flipped record, as read.
            let mut expect = record.clone();
            expect[bit / 8] ^= 1 << (bit % 8);
            assert_eq!(r, expect);
            flips += 1;
        }
        assert_eq!(flips, (PLAIN.len() + OVERHEAD) * 8);
    }

    #[test]
    fn every_truncation_fails_to_open() {
        let k = keys(1);
        let record = sealed(&k, CLIENT, PLAIN);
        for len in 0..record.len() {
            let mut r = record[..len].to_vec();
            assert_eq!(k.open(0, CLIENT, &mut r), Err(OpenError::Sealed), "{len}");
        }
    }

    #[test]
    fn another_key_client_id_or_map_key_fails_to_open() {
        let record = sealed(&keys(1), CLIENT, PLAIN);
        let mut r = record.clone();
        assert_eq!(keys(2).open(0, CLIENT, &mut r), Err(OpenError::Sealed));
        let mut r = record.clone();
        let other = "amzn1.application-oa2-client.2";
        assert_eq!(keys(1).open(0, other, &mut r), Err(OpenError::Sealed));
        let mut r = record;
        assert_eq!(keys(1).open(1, CLIENT, &mut r), Err(OpenError::Sealed));
    }

    #[test]
    fn a_key_the_board_cannot_supply_is_an_error() {
        struct Absent;
        impl SealingKey for Absent {
            fn key(&mut self, _: &mut [u8; KEY_LEN]) -> Result<(), KeyUnavailable> {
                Err(KeyUnavailable)
            }
        }
        assert!(matches!(
            Sealer::derive(&mut Absent, &OPS),
            Err(KeyUnavailable)
        ));
    }
}
