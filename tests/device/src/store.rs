//! Where the device keeps its refresh token: a RAM region standing in for a flash page. Each
//! store replaces the whole record, as a flash write would; the counters say how often the
//! "flash" was written, so the firmware can check that an unchanged token is not written.

use lwa_embedded::core::request::MAX_TOKEN_LEN;
use lwa_embedded::core::session::{TokenStore, Tokens};

/// The stored refresh token and write counters. The record itself lives in a static (the
/// "flash page"); the store is a small handle the driver owns.
#[derive(Debug)]
pub struct RamStore {
    token: &'static mut [u8; MAX_TOKEN_LEN],
    len: usize,
    /// Times a refresh token was written.
    pub writes: u32,
    /// Times the token was deleted.
    pub forgets: u32,
}

/// A store never fails: RAM does not wear out. (A flash store's errors reach the session,
/// which keeps the tokens and retries.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Never {}

impl RamStore {
    /// An empty store over `record`.
    #[must_use]
    pub fn new(record: &'static mut [u8; MAX_TOKEN_LEN]) -> Self {
        record.fill(0);
        Self {
            token: record,
            len: 0,
            writes: 0,
            forgets: 0,
        }
    }

    /// The stored refresh token, if any.
    #[must_use]
    pub fn refresh_token(&self) -> Option<&str> {
        let bytes = self.token.get(..self.len)?;
        if bytes.is_empty() {
            return None;
        }
        core::str::from_utf8(bytes).ok()
    }
}

impl TokenStore for RamStore {
    type Error = Never;

    fn store(&mut self, tokens: &Tokens<'_>) -> Result<(), Never> {
        // The device keeps the refresh token only; after a restart it refreshes once.
        let token = tokens.refresh_token.expose().as_bytes();
        let n = token.len().min(self.token.len());
        if let (Some(dst), Some(src)) = (self.token.get_mut(..n), token.get(..n)) {
            dst.copy_from_slice(src);
        }
        self.len = n;
        self.writes += 1;
        Ok(())
    }

    fn forget(&mut self) -> Result<(), Never> {
        self.token.fill(0);
        self.len = 0;
        self.forgets += 1;
        Ok(())
    }
}
