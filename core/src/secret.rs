//! Secrets: client secrets, tokens, codes and PKCE verifiers.
//!
//! Two shapes, one rule: their `Debug` never shows the value.
//!
//! - [`Secret`] borrows a secret that lives somewhere else (the caller's configuration, a
//!   response buffer). It cannot wipe memory it does not own.
//! - [`SecretBuf`] owns a fixed-capacity copy and overwrites it with zeros when dropped or
//!   cleared ([`zeroize`]).
//!
//! Reading the value is always explicit: [`Secret::expose`], [`SecretBuf::expose`].
//!
//! ```
//! use lwa_core::secret::{Secret, SecretBuf};
//!
//! let secret = Secret::new("s3cr3t");
//! assert_eq!(format!("{secret:?}"), "Secret(***)");
//! assert_eq!(secret.expose(), "s3cr3t");
//!
//! let owned: SecretBuf<64> = SecretBuf::try_from_str("Atzr|abc").unwrap();
//! assert_eq!(format!("{owned:?}"), "SecretBuf(*** 8 bytes)");
//! assert_eq!(owned.as_secret().expose(), "Atzr|abc");
//! ```

use core::fmt;

use zeroize::Zeroize;

use crate::error::CapacityError;

/// A borrowed secret (client secret, token, authorization code, device code).
///
/// `Debug` prints `Secret(***)`; the value is read with [`Secret::expose`].
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Secret<'a>(&'a str);

impl<'a> Secret<'a> {
    /// Wraps a borrowed secret.
    ///
    /// ```
    /// let s = lwa_core::secret::Secret::new("Atzr|abc");
    /// assert_eq!(s.len(), 8);
    /// ```
    #[must_use]
    pub const fn new(value: &'a str) -> Self {
        Self(value)
    }

    /// The secret itself. Call it only where the value must go on the wire or into storage.
    ///
    /// ```
    /// assert_eq!(lwa_core::secret::Secret::new("x").expose(), "x");
    /// ```
    #[must_use]
    pub const fn expose(&self) -> &'a str {
        self.0
    }

    /// Length of the secret in bytes (not secret in itself: it is on the wire in
    /// `Content-Length`).
    ///
    /// ```
    /// assert_eq!(lwa_core::secret::Secret::new("abc").len(), 3);
    /// ```
    #[must_use]
    pub const fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the secret is the empty string.
    ///
    /// ```
    /// assert!(lwa_core::secret::Secret::new("").is_empty());
    /// ```
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// An owned secret of at most `N` bytes of UTF-8, zeroized on drop.
///
/// Storage is an inline `[u8; N]`: no allocation. `Debug` shows only the length.
#[derive(Clone)]
pub struct SecretBuf<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> SecretBuf<N> {
    /// An empty buffer.
    ///
    /// ```
    /// let b = lwa_core::secret::SecretBuf::<16>::new();
    /// assert!(b.is_empty());
    /// ```
    #[must_use]
    pub const fn new() -> Self {
        Self {
            bytes: [0; N],
            len: 0,
        }
    }

    /// Copies `value` in, or fails when it is longer than `N` bytes.
    ///
    /// ```
    /// use lwa_core::secret::SecretBuf;
    /// assert!(SecretBuf::<4>::try_from_str("abcd").is_ok());
    /// let err = SecretBuf::<4>::try_from_str("abcde").unwrap_err();
    /// assert_eq!(err.required, 5);
    /// ```
    pub fn try_from_str(value: &str) -> Result<Self, CapacityError> {
        let mut buf = Self::new();
        buf.set(value)?;
        Ok(buf)
    }

    /// Replaces the content with `value`. On error the old content is kept unchanged.
    ///
    /// ```
    /// let mut b = lwa_core::secret::SecretBuf::<8>::new();
    /// b.set("abc").unwrap();
    /// assert!(b.set("too long for it").is_err());
    /// assert_eq!(b.expose(), "abc");
    /// ```
    pub fn set(&mut self, value: &str) -> Result<(), CapacityError> {
        let src = value.as_bytes();
        let dst = self.bytes.get_mut(..src.len()).ok_or(CapacityError {
            required: src.len(),
            capacity: N,
        })?;
        dst.copy_from_slice(src);
        // Wipe whatever the old, longer value left behind.
        if let Some(tail) = self.bytes.get_mut(src.len()..self.len) {
            tail.zeroize();
        }
        self.len = src.len();
        Ok(())
    }

    /// Appends `value` (used to decode a secret piece by piece).
    ///
    /// ```
    /// let mut b = lwa_core::secret::SecretBuf::<8>::new();
    /// b.push_str("Atzr").unwrap();
    /// b.push_str("|x").unwrap();
    /// assert_eq!(b.expose(), "Atzr|x");
    /// ```
    pub fn push_str(&mut self, value: &str) -> Result<(), CapacityError> {
        let end = self.len + value.len();
        let dst = self.bytes.get_mut(self.len..end).ok_or(CapacityError {
            required: end,
            capacity: N,
        })?;
        dst.copy_from_slice(value.as_bytes());
        self.len = end;
        Ok(())
    }

    /// Wipes the content and makes the buffer empty.
    ///
    /// ```
    /// let mut b = lwa_core::secret::SecretBuf::<8>::try_from_str("abc").unwrap();
    /// b.clear();
    /// assert!(b.is_empty());
    /// ```
    pub fn clear(&mut self) {
        self.bytes.zeroize();
        self.len = 0;
    }

    /// The secret itself.
    ///
    /// ```
    /// let b = lwa_core::secret::SecretBuf::<8>::try_from_str("abc").unwrap();
    /// assert_eq!(b.expose(), "abc");
    /// ```
    #[must_use]
    pub fn expose(&self) -> &str {
        // Only whole `&str`s are ever copied in, so the prefix is UTF-8; the fallback keeps
        // this total without a panic path.
        self.bytes
            .get(..self.len)
            .and_then(|b| core::str::from_utf8(b).ok())
            .unwrap_or("")
    }

    /// Borrows the content as a [`Secret`], e.g. to build a request.
    ///
    /// ```
    /// let b = lwa_core::secret::SecretBuf::<8>::try_from_str("abc").unwrap();
    /// assert_eq!(b.as_secret().expose(), "abc");
    /// ```
    #[must_use]
    pub fn as_secret(&self) -> Secret<'_> {
        Secret(self.expose())
    }

    /// Length in bytes.
    ///
    /// ```
    /// assert_eq!(lwa_core::secret::SecretBuf::<8>::try_from_str("ab").unwrap().len(), 2);
    /// ```
    #[must_use]
    pub const fn len(&self) -> usize {
        self.len
    }

    /// Whether the buffer is empty.
    ///
    /// ```
    /// assert!(lwa_core::secret::SecretBuf::<8>::new().is_empty());
    /// ```
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The capacity `N`.
    ///
    /// ```
    /// assert_eq!(lwa_core::secret::SecretBuf::<8>::new().capacity(), 8);
    /// ```
    #[must_use]
    pub const fn capacity(&self) -> usize {
        N
    }
}

impl<const N: usize> Default for SecretBuf<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> PartialEq for SecretBuf<N> {
    fn eq(&self, other: &Self) -> bool {
        self.expose() == other.expose()
    }
}

impl<const N: usize> Eq for SecretBuf<N> {}

impl<const N: usize> fmt::Debug for SecretBuf<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBuf(*** {} bytes)", self.len)
    }
}

impl<const N: usize> Zeroize for SecretBuf<N> {
    fn zeroize(&mut self) {
        self.clear();
    }
}

impl<const N: usize> Drop for SecretBuf<N> {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::format;

    #[test]
    fn debug_never_shows_the_value() {
        let s = Secret::new("Atzr|topsecret");
        assert!(!format!("{s:?}").contains("topsecret"));
        let b: SecretBuf<32> = SecretBuf::try_from_str("Atzr|topsecret").unwrap();
        assert_eq!(format!("{b:?}"), "SecretBuf(*** 14 bytes)");
    }

    #[test]
    fn set_wipes_the_old_tail_and_keeps_old_value_on_error() {
        let mut b: SecretBuf<8> = SecretBuf::try_from_str("abcdefgh").unwrap();
        b.set("xy").unwrap();
        assert_eq!(b.bytes, *b"xy\0\0\0\0\0\0");
        assert_eq!(
            b.set("123456789"),
            Err(CapacityError {
                required: 9,
                capacity: 8
            })
        );
        assert_eq!(b.expose(), "xy");
    }

    #[test]
    fn zeroize_clears() {
        let mut b: SecretBuf<4> = SecretBuf::try_from_str("abcd").unwrap();
        b.zeroize();
        assert_eq!(b.bytes, [0; 4]);
        assert_eq!(b.expose(), "");
    }

    #[test]
    fn push_str_overflow_keeps_content() {
        let mut b: SecretBuf<4> = SecretBuf::try_from_str("abc").unwrap();
        assert_eq!(
            b.push_str("de"),
            Err(CapacityError {
                required: 5,
                capacity: 4
            })
        );
        assert_eq!(b.expose(), "abc");
    }
}
