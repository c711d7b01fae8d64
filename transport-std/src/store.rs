//! A crash-safe token store: one JSON file, written atomically, guarded by a lock.
//!
//! The file holds one object:
//!
//! ```json
//! {"client_id":"amzn1...","access_token":"Atza|...","refresh_token":"Atzr|...","token_type":"bearer","expires_at":1764003600}
//! ```
//!
//! `expires_at` is in Unix seconds. Writes go to a temporary file in the same directory
//! (created with `O_EXCL`, mode 0600, given the replaced store's owner), which is synced,
//! renamed over the store and followed by a sync of the directory: after a crash at any point the store holds either the old tokens or the new
//! ones, byte for byte, never a mix. Every write and every read-modify-write holds an
//! exclusive lock on a sibling `<name>.lock` file, so concurrent processes take turns.
//!
//! Because every write is an atomic rename, reading needs no lock: [`FileStore::load`] never
//! waits for a writer and needs no write access to the directory, so a valid stored token
//! can be served while another process is in the middle of a slow refresh. Waiting for the
//! lock is bounded ([`FileStore::lock_timeout`], default [`DEFAULT_LOCK_TIMEOUT`]).
//!
//! Nothing is trusted for its name: the store, its lock and temporary files are opened
//! without following symbolic links; a store that is not a regular file, or is larger than
//! [`MAX_STORE_LEN`], is refused unread; temporary files that killed writers left behind
//! are deleted by the next writer; a store keeps its owner when root rewrites it, and a
//! store whose owner cannot be kept is not rewritten. Errors name the file and the problem,
//! never the file's content.
//!
//! Deleting the store ([`FileStore::remove`], [`Locked::remove_and_unlock`]) deletes the lock
//! file too, under the lock (on Unix; elsewhere the lock file stays). A process that was
//! waiting for the deleted lock file then checks, once it holds it, that the lock file's name
//! still leads to the file it locked, and opens the name again if not: two processes never
//! hold the lock at once, one on the deleted file and one on its successor.
//!
//! # In the OS keyring
//!
//! [`FileStore::keyring`] keeps the same JSON document as the secret of one entry of the
//! operating system's keyring instead (service [`KEYRING_SERVICE`], the entry's name as
//! account): the Secret Service on Linux and the BSDs, the Keychain on macOS, the Credential
//! Manager on Windows, through the `keyring` crate, with the crate feature `keyring`. One
//! secret write replaces the document whole, which is the keyring's atomic replace; reads
//! take no lock; writers take turns on a lock file, `<lock dir>/keyring-NAME.lock`, with the
//! same semantics as a file store's. When no keyring service can be reached the store says so
//! ([`StoreError::KeyringUnavailable`]) and nothing is written anywhere else: there is no
//! fallback to a file. Without the feature every keyring operation fails that way.
//!
//! ```
//! use lwa_std::store::{FileStore, StoredTokens};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let store = FileStore::new(dir.path().join("tokens.json"));
//! assert!(store.load().unwrap().is_none());
//! let tokens = StoredTokens {
//!     client_id: "amzn1.application-oa2-client.abc".into(),
//!     access_token: "Atza|a".into(),
//!     refresh_token: "Atzr|r".into(),
//!     token_type: "bearer".into(),
//!     expires_at: 1_764_003_600,
//!     origin: Some("https://api.amazon.com".into()),
//!     ca_file: None,
//! };
//! store.save(&tokens).unwrap();
//! assert_eq!(store.load().unwrap(), Some(tokens));
//! ```

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant as StdInstant, SystemTime, UNIX_EPOCH};

use lwa_core::session::{Instant, TokenStore, Tokens};
use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

/// What the store holds.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredTokens {
    /// The client ID the tokens belong to.
    pub client_id: String,
    /// The access token (may be empty when only a refresh token is known).
    pub access_token: String,
    /// The refresh token.
    pub refresh_token: String,
    /// The token type, `bearer`.
    pub token_type: String,
    /// When the access token expires, in Unix seconds.
    pub expires_at: u64,
    /// The origin that issued the tokens (`https://api.amazon.com`), where the refresh
    /// token may be sent; `None` in stores written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// The CA certificates (PEM) that had to be trusted to reach [`origin`](Self::origin),
    /// if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
}

impl fmt::Debug for StoredTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredTokens")
            .field("client_id", &self.client_id)
            .field("access_token", &"***")
            .field("refresh_token", &"***")
            .field("token_type", &self.token_type)
            .field("expires_at", &self.expires_at)
            .field("origin", &self.origin)
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

impl Drop for StoredTokens {
    fn drop(&mut self) {
        self.access_token.zeroize();
        self.refresh_token.zeroize();
    }
}

/// How long [`FileStore::lock`] waits for another process to release the lock by default:
/// longer than a whole exchange at its default bound (60 s), so that a writer in the middle
/// of one is waited for, but not forever.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(75);

/// The largest store read: two 2048-byte tokens, a client ID and their JSON take under
/// 5 KiB. A larger file is refused, not read (a store pointed at a huge or endless file
/// must not eat the memory).
pub const MAX_STORE_LEN: u64 = 64 * 1024;

/// The keyring service under which [`FileStore::keyring`] keeps its entries; the entry's
/// name is the account.
pub const KEYRING_SERVICE: &str = "lwa";

/// The keyring entry's name when none is given.
pub const DEFAULT_KEYRING_NAME: &str = "default";

/// The longest keyring entry name [`FileStore::keyring`] takes.
pub const MAX_KEYRING_NAME_LEN: usize = 64;

/// Whether `name` can name a keyring entry: 1 to [`MAX_KEYRING_NAME_LEN`] characters of
/// `A-Z`, `a-z`, `0-9`, `.`, `_` and `-` (it is also part of the lock file's name).
///
/// ```
/// use lwa_std::store::is_keyring_name;
/// assert!(is_keyring_name("work.alexa-1"));
/// assert!(!is_keyring_name(""));
/// assert!(!is_keyring_name("../x"));
/// ```
#[must_use]
pub fn is_keyring_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_KEYRING_NAME_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Where a store keeps its tokens, for messages: `Display` writes the file's path, or
/// `keyring:NAME`.
///
/// ```
/// use lwa_std::store::FileStore;
/// let store = FileStore::keyring("work", "/tmp/lwa-doc").unwrap();
/// assert_eq!(store.location().to_string(), "keyring:work");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Location<'a> {
    /// A JSON file.
    File(&'a Path),
    /// An entry of the OS keyring, by name.
    Keyring(&'a str),
}

impl fmt::Display for Location<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(path) => write!(f, "{}", path.display()),
            Self::Keyring(name) => write!(f, "keyring:{name}"),
        }
    }
}

/// How often a waiting [`FileStore::lock`] tries the lock again.
const LOCK_POLL: Duration = Duration::from_millis(50);

/// Why the store could not be read or written.
#[derive(Debug)]
#[non_exhaustive]
pub enum StoreError {
    /// Reading, writing, syncing, renaming or locking failed.
    Io {
        /// What was being done.
        action: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The error.
        error: io::Error,
    },
    /// The file or keyring entry is not a token store.
    Corrupt {
        /// The file, or `keyring:NAME` for a keyring entry.
        path: PathBuf,
        /// What is wrong and where (line and column); never any of the file's content.
        error: String,
    },
    /// The store or its lock file is not a regular file (a symbolic link, a FIFO, a
    /// device): refused, never read, written or followed.
    NotAFile {
        /// The file.
        path: PathBuf,
    },
    /// The store is a directory: refused, never read or written.
    Directory {
        /// The directory.
        path: PathBuf,
    },
    /// The store is larger than [`MAX_STORE_LEN`]: refused, not read.
    TooLarge {
        /// The file, or `keyring:NAME` for a keyring entry.
        path: PathBuf,
    },
    /// No keyring service could be reached, or it refused access (the Secret Service is not
    /// running or its collection stays locked, the platform has none, or lwa-std was built
    /// without the `keyring` feature). Nothing was written, in the keyring or elsewhere.
    KeyringUnavailable {
        /// The entry's name.
        name: String,
        /// What the platform said.
        detail: String,
    },
    /// The keyring failed while reading, writing or deleting the entry.
    Keyring {
        /// The entry's name.
        name: String,
        /// What was being done.
        action: &'static str,
        /// What the platform said; never any of the entry's secret.
        detail: String,
    },
    /// A keyring entry name that [`is_keyring_name`] refuses.
    KeyringName,
    /// Another process held the store's lock for longer than the lock timeout.
    LockTimeout {
        /// The lock file.
        path: PathBuf,
        /// How long this process waited.
        waited: Duration,
    },
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io {
                action,
                path,
                error,
            } => write!(f, "cannot {action} {}: {error}", path.display()),
            Self::Corrupt { path, error } => {
                write!(f, "{} is not a token store: {error}", path.display())
            }
            Self::NotAFile { path } => write!(
                f,
                "{} is not a regular file (a symbolic link, FIFO or device): refused",
                path.display()
            ),
            Self::Directory { path } => write!(
                f,
                "{} is a directory, not a token store file: refused",
                path.display()
            ),
            Self::TooLarge { path } => write!(
                f,
                "{} is larger than {MAX_STORE_LEN} bytes, more than any token store: refused",
                path.display()
            ),
            Self::KeyringUnavailable { name, detail } => write!(
                f,
                "no OS keyring can be reached for keyring:{name} ({detail}); nothing was \
                 written, in the keyring or elsewhere"
            ),
            Self::Keyring {
                name,
                action,
                detail,
            } => write!(f, "cannot {action} keyring:{name}: {detail}"),
            Self::KeyringName => write!(
                f,
                "a keyring entry name is 1 to {MAX_KEYRING_NAME_LEN} characters of A-Z, a-z, \
                 0-9, '.', '_' and '-'"
            ),
            Self::LockTimeout { path, waited } => write!(
                f,
                "another process has held {} for more than {} s (a refresh in progress?); \
                 try again later",
                path.display(),
                waited.as_secs()
            ),
        }
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { error, .. } => Some(error),
            Self::Corrupt { .. }
            | Self::NotAFile { .. }
            | Self::Directory { .. }
            | Self::TooLarge { .. }
            | Self::LockTimeout { .. }
            | Self::KeyringUnavailable { .. }
            | Self::Keyring { .. }
            | Self::KeyringName => None,
        }
    }
}

/// A token store in a JSON file, or in an entry of the OS keyring
/// ([`keyring`](Self::keyring)). See the [module docs](self).
#[derive(Debug, Clone)]
pub struct FileStore {
    /// The file; for a keyring store `<lock dir>/keyring-NAME`, the stem of its lock file.
    path: PathBuf,
    /// The keyring entry's name, for a keyring store.
    keyring: Option<String>,
    lock_timeout: Duration,
}

/// Exclusive access to a [`FileStore`] until dropped.
#[derive(Debug)]
pub struct Locked<'s> {
    store: &'s FileStore,
    _lock: File,
}

impl FileStore {
    /// A store at `path` (nothing is touched until the first read or write).
    ///
    /// ```
    /// let store = lwa_std::store::FileStore::new("/tmp/lwa-doc/tokens.json");
    /// assert!(store.path().ends_with("tokens.json"));
    /// ```
    #[must_use]
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            keyring: None,
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
        }
    }

    /// A store in the OS keyring's entry `name` (service [`KEYRING_SERVICE`]), its writers
    /// taking turns on the lock file `<lock_dir>/keyring-NAME.lock`. Nothing is touched
    /// until the first read or write.
    ///
    /// ```
    /// use lwa_std::store::{FileStore, Location};
    /// let store = FileStore::keyring("default", "/tmp/lwa-doc").unwrap();
    /// assert_eq!(store.location(), Location::Keyring("default"));
    /// assert!(FileStore::keyring("a/b", "/tmp/lwa-doc").is_err());
    /// ```
    ///
    /// # Errors
    /// [`StoreError::KeyringName`] if [`is_keyring_name`] refuses `name`.
    pub fn keyring(name: &str, lock_dir: impl Into<PathBuf>) -> Result<Self, StoreError> {
        if !is_keyring_name(name) {
            return Err(StoreError::KeyringName);
        }
        Ok(Self {
            path: lock_dir.into().join(format!("keyring-{name}")),
            keyring: Some(name.to_owned()),
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
        })
    }

    /// Whether the store's keyring can be reached, for a keyring store; a file store
    /// answers `Ok` without touching anything. Worth calling before a sign-in whose
    /// tokens could not be saved.
    ///
    /// # Errors
    /// [`StoreError::KeyringUnavailable`].
    pub fn reachable(&self) -> Result<(), StoreError> {
        match &self.keyring {
            Some(name) => os_keyring::check(name),
            None => Ok(()),
        }
    }

    /// Where the tokens are: the file, or the keyring entry.
    #[must_use]
    pub fn location(&self) -> Location<'_> {
        match &self.keyring {
            Some(name) => Location::Keyring(name),
            None => Location::File(&self.path),
        }
    }

    /// How long [`lock`](Self::lock) waits for another process to release the lock before it
    /// gives up with [`StoreError::LockTimeout`] (default [`DEFAULT_LOCK_TIMEOUT`]).
    ///
    /// ```
    /// use std::time::Duration;
    /// let store = lwa_std::store::FileStore::new("tokens.json").lock_timeout(Duration::from_secs(5));
    /// # let _ = store;
    /// ```
    #[must_use]
    pub fn lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout;
        self
    }

    /// Where the store lives: the file, or for a keyring store `<lock dir>/keyring-NAME`, to
    /// which its lock file's name adds `.lock` (there is no file of that name). Messages
    /// should name [`location`](Self::location).
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock_path(&self) -> PathBuf {
        let mut name = self
            .path
            .file_name()
            .map(std::ffi::OsStr::to_os_string)
            .unwrap_or_default();
        name.push(".lock");
        self.path.with_file_name(name)
    }

    fn io(&self, action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> StoreError {
        let path = path.to_path_buf();
        move |error| StoreError::Io {
            action,
            path,
            error,
        }
    }

    /// Takes the store's exclusive lock, creating the directory if needed. Waits for other
    /// processes at most the [lock timeout](Self::lock_timeout).
    ///
    /// # Errors
    /// [`StoreError::Io`] if the directory or lock file cannot be created or locked,
    /// [`StoreError::LockTimeout`] if another process held the lock for too long.
    pub fn lock(&self) -> Result<Locked<'_>, StoreError> {
        Ok(Locked {
            store: self,
            _lock: self.acquire()?,
        })
    }

    /// Takes the lock (see [`lock`](Self::lock)) and returns the locked file: the lock is
    /// held until it is closed.
    fn acquire(&self) -> Result<File, StoreError> {
        // A keyring store that cannot reach its keyring creates no lock file either.
        if let Some(name) = &self.keyring {
            os_keyring::check(name)?;
        }
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(self.io("create the directory", dir))?;
        }
        let lock_path = self.lock_path();
        let started = StdInstant::now();
        let mut reopened = false;
        let file = loop {
            let file = match open_lock(&lock_path) {
                Ok(f) => f,
                Err(e) if is_symlink_refusal(&e) => {
                    return Err(StoreError::NotAFile { path: lock_path });
                }
                Err(e) => return Err(self.io("open", &lock_path)(e)),
            };
            if !file
                .metadata()
                .map_err(self.io("open", &lock_path))?
                .is_file()
            {
                return Err(StoreError::NotAFile { path: lock_path });
            }
            loop {
                match file.try_lock() {
                    Ok(()) => break,
                    Err(fs::TryLockError::WouldBlock) => {}
                    Err(fs::TryLockError::Error(e)) => {
                        return Err(self.io("lock", &lock_path)(e));
                    }
                }
                let waited = started.elapsed();
                if waited >= self.lock_timeout {
                    return Err(StoreError::LockTimeout {
                        path: lock_path,
                        waited,
                    });
                }
                std::thread::sleep(LOCK_POLL.min(self.lock_timeout - waited));
            }
            // A logout deletes the lock file under the lock: whoever waited on it now holds
            // a lock on a file nobody else will open, while a newcomer locks a new file of
            // that name. Only the file the name leads to excludes anyone.
            if names_file(&lock_path, &file).map_err(self.io("open", &lock_path))? {
                break file;
            }
            // Bounded like the wait: a lock file replaced over and over must not keep this
            // loop going. The first re-open is always made, even with a zero timeout.
            let waited = started.elapsed();
            if reopened && waited >= self.lock_timeout {
                return Err(StoreError::LockTimeout {
                    path: lock_path,
                    waited,
                });
            }
            reopened = true;
        };
        give_lock_to_dir_owner(
            &file,
            self.path
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new(".")),
        );
        if self.keyring.is_none() {
            self.remove_stale_temps();
        }
        Ok(file)
    }

    /// Deletes the temporary files that writers killed between writing and renaming left
    /// behind (they hold tokens). Called under the lock: every writer holds it from creating
    /// its temporary file to renaming it, so any such file found now is stale.
    fn remove_stale_temps(&self) {
        let dir = self
            .path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let Some(store_name) = self.path.file_name().and_then(|n| n.to_str()) else {
            return;
        };
        // Best effort: a directory that cannot be listed fails the write that follows anyway.
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            if name
                .to_str()
                .is_some_and(|name| is_temp_name(name, store_name))
            {
                // remove_file deletes a symbolic link itself, never its target.
                let _ = fs::remove_file(entry.path());
            }
        }
    }

    /// Reads the store: `None` if there is no file yet.
    ///
    /// Takes no lock and writes nothing: writers replace the file by an atomic rename, so a
    /// read sees the old store or the new one, whole. It never waits for a writer.
    ///
    /// # Errors
    /// [`StoreError::Io`] if it cannot be read, [`StoreError::Corrupt`] if it is not a store.
    pub fn load(&self) -> Result<Option<StoredTokens>, StoreError> {
        read_store(self)
    }

    /// Replaces the store's content atomically.
    ///
    /// # Errors
    /// [`StoreError::Io`]; the old file is then unchanged.
    pub fn save(&self, tokens: &StoredTokens) -> Result<(), StoreError> {
        self.lock()?.save(tokens)
    }

    /// Deletes the store, then its lock file (see [`Locked::remove_and_unlock`]).
    ///
    /// # Errors
    /// [`StoreError::Io`] if it exists and cannot be deleted.
    pub fn remove(&self) -> Result<(), StoreError> {
        self.lock()?.remove_and_unlock()
    }
}

impl Locked<'_> {
    /// Reads the store under the lock.
    ///
    /// # Errors
    /// As [`FileStore::load`].
    pub fn load(&self) -> Result<Option<StoredTokens>, StoreError> {
        read_store(self.store)
    }

    /// Replaces the store atomically under the lock.
    ///
    /// # Errors
    /// As [`FileStore::save`].
    pub fn save(&self, tokens: &StoredTokens) -> Result<(), StoreError> {
        write_store(self.store, tokens)
    }

    /// Deletes the store under the lock; the lock file stays, so that the lock still
    /// excludes others until dropped.
    ///
    /// # Errors
    /// As [`FileStore::remove`].
    pub fn remove(&self) -> Result<(), StoreError> {
        remove_store(self.store)
    }

    /// Deletes the store, then, still under the lock, the lock file (on Unix; elsewhere it
    /// stays), and releases the lock: a logout leaves no file behind. A process waiting for
    /// the lock meanwhile opens the lock file's name again once it gets the deleted one (see
    /// the [module docs](self)).
    ///
    /// # Errors
    /// As [`FileStore::remove`]. Deleting the lock file is best effort: the tokens are gone
    /// by then, and a lock file left behind holds nothing.
    pub fn remove_and_unlock(self) -> Result<(), StoreError> {
        remove_store(self.store)?;
        #[cfg(unix)]
        {
            let _ = fs::remove_file(self.store.lock_path());
        }
        drop(self);
        Ok(())
    }
}

/// Replaces the store atomically; the caller holds the lock.
fn write_store(store: &FileStore, tokens: &StoredTokens) -> Result<(), StoreError> {
    match &store.keyring {
        Some(name) => os_keyring::write(name, tokens),
        None => write_file(store, tokens),
    }
}

/// Deletes the store; the caller holds the lock.
fn remove_store(store: &FileStore) -> Result<(), StoreError> {
    match &store.keyring {
        Some(name) => os_keyring::remove(name),
        None => remove_file(store),
    }
}

/// Reads the store; no lock needed.
fn read_store(store: &FileStore) -> Result<Option<StoredTokens>, StoreError> {
    match &store.keyring {
        Some(name) => os_keyring::read(name),
        None => read_file(store),
    }
}

/// Replaces the file atomically; the caller holds the lock.
fn write_file(store: &FileStore, tokens: &StoredTokens) -> Result<(), StoreError> {
    let path = &store.path;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut text = serde_json::to_vec(tokens).map_err(|e| StoreError::Corrupt {
        path: path.clone(),
        error: describe_json_error(&e),
    })?;
    text.push(b'\n');
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut random = [0u8; 8];
    getrandom::fill(&mut random).map_err(|e| StoreError::Io {
        action: "draw a temporary name for",
        path: path.clone(),
        error: io::Error::other(e.to_string()),
    })?;
    let tmp = dir.join(format!(
        ".{file_name}.{}.{:016x}.tmp",
        std::process::id(),
        u64::from_le_bytes(random)
    ));
    // What is there now: a store that is not a regular file is refused, not replaced.
    let existing = match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_file() => Some(meta),
        Ok(meta) => {
            text.zeroize();
            return Err(if meta.is_dir() {
                StoreError::Directory { path: path.clone() }
            } else {
                StoreError::NotAFile { path: path.clone() }
            });
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => {
            text.zeroize();
            return Err(store.io("read", path)(e));
        }
    };
    // O_EXCL: the name is new, or this fails; nothing planted there is written through.
    let file = match create_temp(&tmp) {
        Ok(file) => file,
        Err(e) => {
            text.zeroize();
            return Err(store.io("create", &tmp)(e));
        }
    };
    let result = keep_owner(&file, existing.as_ref(), dir)
        .map_err(store.io("keep the owner of", path))
        .and_then(|()| write_synced(file, &text).map_err(store.io("write", &tmp)))
        .and_then(|()| fs::rename(&tmp, path).map_err(store.io("rename onto", path)))
        .and_then(|()| sync_dir(dir).map_err(store.io("sync", dir)));
    text.zeroize();
    if result.is_err() {
        // The old store is untouched; do not leave the temporary file behind.
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Deletes the file; the caller holds the lock.
fn remove_file(store: &FileStore) -> Result<(), StoreError> {
    let path = &store.path;
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => return Err(StoreError::Directory { path: path.clone() }),
        _ => {}
    }
    match fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(store.io("delete", path)(e)),
    }
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    sync_dir(dir).map_err(store.io("sync", dir))
}

fn read_file(store: &FileStore) -> Result<Option<StoredTokens>, StoreError> {
    let path = &store.path;
    let not_a_file = || StoreError::NotAFile { path: path.clone() };
    // Without following a link, and without waiting for a writer to open a FIFO.
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    let file = match options.open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) if is_symlink_refusal(&e) => return Err(not_a_file()),
        Err(e) => return Err(store.io("read", path)(e)),
    };
    let meta = file.metadata().map_err(store.io("read", path))?;
    if meta.is_dir() {
        return Err(StoreError::Directory { path: path.clone() });
    }
    if !meta.is_file() {
        return Err(not_a_file());
    }
    if meta.len() > MAX_STORE_LEN {
        return Err(StoreError::TooLarge { path: path.clone() });
    }
    let mut text = Vec::new();
    // The length can change under us: never read more than the limit, whatever it says now.
    let read = file
        .take(MAX_STORE_LEN + 1)
        .read_to_end(&mut text)
        .map_err(store.io("read", path));
    if let Err(e) = read {
        text.zeroize();
        return Err(e);
    }
    if u64::try_from(text.len()).map_or(true, |n| n > MAX_STORE_LEN) {
        text.zeroize();
        return Err(StoreError::TooLarge { path: path.clone() });
    }
    let parsed = serde_json::from_slice::<StoredTokens>(&text);
    text.zeroize();
    parsed.map(Some).map_err(|e| StoreError::Corrupt {
        path: path.clone(),
        error: describe_json_error(&e),
    })
}

/// What is wrong with the store's JSON, by kind and position only: serde_json's own
/// message quotes the offending value (`invalid type: string "Atzr|..."`), which may be a
/// token.
fn describe_json_error(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match e.classify() {
        Category::Syntax => "not valid JSON",
        Category::Eof => "the JSON ends early",
        Category::Data => "a member is missing or has the wrong type",
        Category::Io => "unreadable",
    };
    format!("{what} at line {}, column {}", e.line(), e.column())
}

/// Whether opening failed because the last component is a symbolic link (`O_NOFOLLOW`).
fn is_symlink_refusal(e: &io::Error) -> bool {
    #[cfg(unix)]
    {
        e.raw_os_error() == Some(libc::ELOOP)
    }
    #[cfg(not(unix))]
    {
        let _ = e;
        false
    }
}

/// Whether `path` still names `file` (the same device and inode): false once the file was
/// deleted or replaced. Where lock files are never deleted (not Unix), always true.
fn names_file(path: &Path, file: &File) -> io::Result<bool> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let ours = file.metadata()?;
        match fs::symlink_metadata(path) {
            Ok(now) => Ok(now.dev() == ours.dev() && now.ino() == ours.ino()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (path, file);
        Ok(true)
    }
}

/// Opens (creating it, mode 0600) the lock file, never through a symbolic link: someone
/// who can write to the directory must not make lwa create or lock a file elsewhere.
fn open_lock(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    options.open(path)
}

/// Gives the new store the owner of the one it replaces, or, for a first store, of its
/// directory, with mode 0600: root refreshing a user's store must not take it over (the
/// user could no longer read it). Fails, so that the store is left as it was, when the
/// existing store's owner cannot be kept (a user rewriting another user's store).
#[cfg(unix)]
fn keep_owner(file: &File, existing: Option<&fs::Metadata>, dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    file.set_permissions(fs::Permissions::from_mode(0o600))?;
    let ours = file.metadata()?;
    match existing {
        Some(old) if old.uid() != ours.uid() => {
            std::os::unix::fs::fchown(file, Some(old.uid()), Some(old.gid()))
        }
        Some(old) if old.gid() != ours.gid() => {
            // Keeping the group is best effort: a user who left the store's group keeps
            // their store, in their own group.
            let _ = std::os::unix::fs::fchown(file, None, Some(old.gid()));
            Ok(())
        }
        Some(_) => Ok(()),
        None => {
            // A first store in someone else's directory: theirs if we may (root), else ours.
            if let Ok(parent) = fs::metadata(dir)
                && parent.uid() != ours.uid()
            {
                let _ = std::os::unix::fs::fchown(file, Some(parent.uid()), Some(parent.gid()));
            }
            Ok(())
        }
    }
}

#[cfg(not(unix))]
fn keep_owner(_file: &File, _existing: Option<&fs::Metadata>, _dir: &Path) -> io::Result<()> {
    Ok(())
}

/// Gives a lock file that root created in someone else's directory to the directory's
/// owner, who could not open it otherwise. Best effort: only root may, and only root needs
/// to.
#[cfg(unix)]
fn give_lock_to_dir_owner(lock: &File, dir: &Path) {
    use std::os::unix::fs::MetadataExt;
    if let (Ok(ours), Ok(parent)) = (lock.metadata(), fs::metadata(dir))
        && ours.uid() == 0
        && parent.uid() != 0
    {
        let _ = std::os::unix::fs::fchown(lock, Some(parent.uid()), Some(parent.gid()));
    }
}

#[cfg(not(unix))]
fn give_lock_to_dir_owner(_lock: &File, _dir: &Path) {}

/// Creates a temporary file that did not exist (`O_CREAT | O_EXCL`), mode 0600.
fn create_temp(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // O_EXCL already refuses an existing link; O_NOFOLLOW says so for every reader.
        options.mode(0o600).custom_flags(libc::O_NOFOLLOW);
    }
    options.open(path)
}

fn write_synced(mut file: File, bytes: &[u8]) -> io::Result<()> {
    file.write_all(bytes)?;
    file.sync_all()
}

/// Whether `name` is one of the store's temporary files: `.<store name>.<pid>.<hex>.tmp`.
fn is_temp_name(name: &str, store_name: &str) -> bool {
    name.strip_prefix('.')
        .and_then(|rest| rest.strip_prefix(store_name))
        .and_then(|rest| rest.strip_prefix('.'))
        .and_then(|rest| rest.strip_suffix(".tmp"))
        .is_some_and(|middle| {
            middle.split_once('.').is_some_and(|(pid, random)| {
                !pid.is_empty()
                    && pid.bytes().all(|b| b.is_ascii_digit())
                    && random.len() == 16
                    && random.bytes().all(|b| b.is_ascii_hexdigit())
            })
        })
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// The keyring store's operations over the `keyring` crate.
#[cfg(feature = "keyring")]
mod os_keyring {
    use std::path::PathBuf;

    use keyring::{Entry, Error};
    use zeroize::{Zeroize, Zeroizing};

    use super::{KEYRING_SERVICE, MAX_STORE_LEN, StoreError, StoredTokens, describe_json_error};

    /// `keyring:NAME`, the path the shared errors ([`StoreError::Corrupt`],
    /// [`StoreError::TooLarge`]) name.
    fn location(name: &str) -> PathBuf {
        PathBuf::from(format!("keyring:{name}"))
    }

    fn unavailable(name: &str, detail: String) -> StoreError {
        StoreError::KeyringUnavailable {
            name: name.to_owned(),
            detail,
        }
    }

    /// What a keyring error means for the store; never the secret the error may carry.
    fn failure(name: &str, action: &'static str, error: Error) -> StoreError {
        let keyring = |detail: String| StoreError::Keyring {
            name: name.to_owned(),
            action,
            detail,
        };
        match error {
            Error::NoDefaultStore => unavailable(name, startup_failure()),
            Error::NoStorageAccess(e) => unavailable(name, format!("no access: {e}")),
            Error::PlatformFailure(e) => keyring(e.to_string()),
            Error::BadEncoding(mut bytes) | Error::BadDataFormat(mut bytes, _) => {
                bytes.zeroize();
                StoreError::Corrupt {
                    path: location(name),
                    error: "the entry's secret is not in the form stored".into(),
                }
            }
            Error::Ambiguous(entries) => keyring(format!(
                "{} entries match service {KEYRING_SERVICE} and this name",
                entries.len()
            )),
            Error::TooLong(what, limit) => keyring(format!(
                "the {what} is longer than the keyring takes ({limit})"
            )),
            Error::Invalid(what, why) => keyring(format!("invalid {what}: {why}")),
            Error::NoEntry => keyring("no such entry".into()),
            other => keyring(other.to_string()),
        }
    }

    /// Why the platform's keyring could not be opened when the process first tried.
    fn startup_failure() -> String {
        match Entry::store_status() {
            Ok(()) => "the keyring could not be opened".into(),
            Err(Error::PlatformFailure(e) | Error::NoStorageAccess(e)) => e.to_string(),
            Err(Error::Invalid(what, why)) => format!("{what} {why}"),
            Err(e) => e.to_string(),
        }
    }

    fn entry(name: &str, action: &'static str) -> Result<Entry, StoreError> {
        Entry::new(KEYRING_SERVICE, name).map_err(|e| failure(name, action, e))
    }

    /// Whether the keyring can be reached at all, before a lock file is made for it.
    pub(super) fn check(name: &str) -> Result<(), StoreError> {
        match Entry::store_status() {
            Ok(()) => Ok(()),
            Err(_) => Err(unavailable(name, startup_failure())),
        }
    }

    pub(super) fn read(name: &str) -> Result<Option<StoredTokens>, StoreError> {
        let secret = match entry(name, "read")?.get_secret() {
            Ok(secret) => Zeroizing::new(secret),
            Err(Error::NoEntry) => return Ok(None),
            Err(e) => return Err(failure(name, "read", e)),
        };
        if u64::try_from(secret.len()).map_or(true, |n| n > MAX_STORE_LEN) {
            return Err(StoreError::TooLarge {
                path: location(name),
            });
        }
        serde_json::from_slice::<StoredTokens>(&secret)
            .map(Some)
            .map_err(|e| StoreError::Corrupt {
                path: location(name),
                error: describe_json_error(&e),
            })
    }

    pub(super) fn write(name: &str, tokens: &StoredTokens) -> Result<(), StoreError> {
        let text = Zeroizing::new(serde_json::to_vec(tokens).map_err(|e| StoreError::Corrupt {
            path: location(name),
            error: describe_json_error(&e),
        })?);
        // One call replaces the whole secret, or fails and leaves the old one.
        entry(name, "write")?
            .set_secret(&text)
            .map_err(|e| failure(name, "write", e))
    }

    pub(super) fn remove(name: &str) -> Result<(), StoreError> {
        match entry(name, "delete")?.delete_credential() {
            Ok(()) | Err(Error::NoEntry) => Ok(()),
            Err(e) => Err(failure(name, "delete", e)),
        }
    }
}

/// Without the `keyring` feature: every keyring operation says so.
#[cfg(not(feature = "keyring"))]
mod os_keyring {
    use super::{StoreError, StoredTokens};

    fn unavailable(name: &str) -> StoreError {
        StoreError::KeyringUnavailable {
            name: name.to_owned(),
            detail: "lwa-std was built without its `keyring` feature".into(),
        }
    }

    pub(super) fn check(name: &str) -> Result<(), StoreError> {
        Err(unavailable(name))
    }

    pub(super) fn read(name: &str) -> Result<Option<StoredTokens>, StoreError> {
        Err(unavailable(name))
    }

    pub(super) fn write(name: &str, _tokens: &StoredTokens) -> Result<(), StoreError> {
        Err(unavailable(name))
    }

    pub(super) fn remove(name: &str) -> Result<(), StoreError> {
        Err(unavailable(name))
    }
}

/// A [`TokenStore`] for a session over a [`FileStore`]: it writes the tokens with the
/// session's client ID and turns the session's monotonic expiry into Unix seconds.
///
/// [`Driver::open`](crate::driver::Driver::open) makes one; make one by hand only for
/// [`Driver::new`](crate::driver::Driver::new), just before the driver (the monotonic
/// clocks of both start when they are made).
///
/// ```
/// use lwa_std::store::{FileStore, SessionStore};
///
/// let dir = tempfile::tempdir().unwrap();
/// let store = SessionStore::new(FileStore::new(dir.path().join("tokens.json")), "amzn1.application-oa2-client.abc");
/// assert_eq!(store.client_id(), "amzn1.application-oa2-client.abc");
/// ```
#[derive(Debug)]
pub struct SessionStore {
    store: FileStore,
    client_id: String,
    /// Written with the tokens as [`StoredTokens::origin`].
    issuer: Option<String>,
    /// Written with the tokens as [`StoredTokens::ca_file`].
    ca_file: Option<PathBuf>,
    unix_origin: SystemTime,
    /// The store's lock, when held from the start ([`SessionStore::locked`]).
    held: Option<File>,
}

impl SessionStore {
    /// A session store that takes the file's lock for each write.
    #[must_use]
    pub fn new(store: FileStore, client_id: impl Into<String>) -> Self {
        Self {
            store,
            client_id: client_id.into(),
            issuer: None,
            ca_file: None,
            unix_origin: SystemTime::now(),
            held: None,
        }
    }

    /// Records `origin` as the issuer of the tokens this store writes
    /// ([`StoredTokens::origin`]); [`Driver::open`](crate::driver::Driver::open) records the
    /// client's endpoint.
    ///
    /// ```
    /// use lwa_std::store::{FileStore, SessionStore};
    ///
    /// let store = SessionStore::new(FileStore::new("unused.json"), "c").issued_by("https://api.amazon.com");
    /// assert_eq!(store.issuer(), Some("https://api.amazon.com"));
    /// ```
    #[must_use]
    pub fn issued_by(mut self, origin: impl Into<String>) -> Self {
        self.issuer = Some(origin.into());
        self
    }

    /// Records the CA file needed to reach the issuer ([`StoredTokens::ca_file`]).
    ///
    /// ```
    /// use lwa_std::store::{FileStore, SessionStore};
    ///
    /// let store = SessionStore::new(FileStore::new("unused.json"), "c").with_ca_file(Some("/etc/lwa/ca.pem".into()));
    /// assert_eq!(store.ca_file(), Some(std::path::Path::new("/etc/lwa/ca.pem")));
    /// ```
    #[must_use]
    pub fn with_ca_file(mut self, path: Option<PathBuf>) -> Self {
        self.ca_file = path;
        self
    }

    /// The issuer written with the tokens.
    #[must_use]
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }

    /// The CA file written with the tokens.
    #[must_use]
    pub fn ca_file(&self) -> Option<&Path> {
        self.ca_file.as_deref()
    }

    /// A session store that takes the file's lock now and holds it until dropped: a
    /// short-lived run (one refresh) that must not race another process reading and
    /// writing the same store.
    ///
    /// # Errors
    /// As [`FileStore::lock`].
    ///
    /// ```
    /// use lwa_std::store::{FileStore, SessionStore};
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let file = FileStore::new(dir.path().join("tokens.json"));
    /// let held = SessionStore::locked(file.clone(), "amzn1.application-oa2-client.abc").unwrap();
    /// assert!(held.is_locked());
    /// // Another writer waits: here it gives up at once.
    /// let other = file.lock_timeout(std::time::Duration::ZERO);
    /// assert!(other.lock().is_err());
    /// drop(held);
    /// assert!(other.lock().is_ok());
    /// ```
    pub fn locked(store: FileStore, client_id: impl Into<String>) -> Result<Self, StoreError> {
        let held = store.acquire()?;
        Ok(Self {
            held: Some(held),
            ..Self::new(store, client_id)
        })
    }

    /// The file.
    #[must_use]
    pub fn file(&self) -> &FileStore {
        &self.store
    }

    /// The client ID written with the tokens.
    #[must_use]
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// Whether this store holds the file's lock.
    #[must_use]
    pub fn is_locked(&self) -> bool {
        self.held.is_some()
    }

    /// Reads the store (it needs no lock; see [`FileStore::load`]).
    ///
    /// # Errors
    /// As [`FileStore::load`].
    pub fn load(&self) -> Result<Option<StoredTokens>, StoreError> {
        read_store(&self.store)
    }

    /// The wall-clock time at which the session's clock starts.
    pub(crate) fn unix_origin(&self) -> SystemTime {
        self.unix_origin
    }

    /// Unix seconds of `at` on the session's clock, which started when this store was made.
    fn unix_secs(&self, at: Instant) -> u64 {
        self.unix_origin
            .checked_add(Duration::from_millis(at.as_millis()))
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_secs())
    }
}

impl TokenStore for SessionStore {
    type Error = StoreError;

    fn store(&mut self, tokens: &Tokens<'_>) -> Result<(), StoreError> {
        let (access, expires_at) = tokens.access_token.map_or((String::new(), 0), |(t, at)| {
            (t.expose().to_owned(), self.unix_secs(at))
        });
        let tokens = StoredTokens {
            client_id: self.client_id.clone(),
            access_token: access,
            refresh_token: tokens.refresh_token.expose().to_owned(),
            token_type: "bearer".into(),
            expires_at,
            origin: self.issuer.clone(),
            ca_file: self.ca_file.clone(),
        };
        if self.held.is_some() {
            write_store(&self.store, &tokens)
        } else {
            self.store.save(&tokens)
        }
    }

    fn forget(&mut self) -> Result<(), StoreError> {
        if self.held.is_some() {
            remove_store(&self.store)
        } else {
            self.store.remove()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(n: u32) -> StoredTokens {
        StoredTokens {
            client_id: "c".into(),
            access_token: format!("Atza|{n}"),
            refresh_token: format!("Atzr|{n}"),
            token_type: "bearer".into(),
            expires_at: 1_764_000_000 + u64::from(n),
            origin: None,
            ca_file: None,
        }
    }

    #[test]
    fn exact_file_content_and_mode() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(dir.path().join("sub/tokens.json"));
        store.save(&tokens(1)).unwrap();
        assert_eq!(
            fs::read_to_string(store.path()).unwrap(),
            "{\"client_id\":\"c\",\"access_token\":\"Atza|1\",\"refresh_token\":\"Atzr|1\",\"token_type\":\"bearer\",\"expires_at\":1764000001}\n"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(store.path()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // No temporary files left behind.
        let names: Vec<_> = fs::read_dir(dir.path().join("sub"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        let mut names = names;
        names.sort();
        assert_eq!(names, ["tokens.json", "tokens.json.lock"]);
    }

    #[test]
    fn failed_write_leaves_the_old_file_byte_for_byte() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(dir.path().join("tokens.json"));
        store.save(&tokens(1)).unwrap();
        let before = fs::read(store.path()).unwrap();
        // A directory where a store should be is refused before anything is written.
        let blocked = FileStore::new(dir.path().join("blocked"));
        fs::create_dir(dir.path().join("blocked")).unwrap();
        fs::write(dir.path().join("blocked/x"), b"x").unwrap();
        assert!(matches!(
            blocked.save(&tokens(2)),
            Err(StoreError::Directory { .. })
        ));
        assert_eq!(fs::read(store.path()).unwrap(), before);
        let leftovers = fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".tmp")
            })
            .count();
        assert_eq!(leftovers, 0);
    }

    #[test]
    fn corrupt_and_missing_files() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(dir.path().join("tokens.json"));
        assert_eq!(store.load().unwrap(), None);
        fs::write(
            store.path(),
            b"{\"client_id\": 5, \"refresh_token\":\"Atzr|secret\"}",
        )
        .unwrap();
        let err = store.load().unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }));
        assert!(!err.to_string().contains("Atzr|secret"), "{err}");
        store.remove().unwrap();
        store.remove().unwrap();
        assert_eq!(store.load().unwrap(), None);
    }

    #[test]
    fn temporary_names_are_recognised_exactly() {
        let yes = [
            ".tokens.json.42.0123456789abcdef.tmp",
            ".tokens.json.1.ABCDEF0123456789.tmp",
        ];
        for name in yes {
            assert!(is_temp_name(name, "tokens.json"), "{name}");
        }
        let no = [
            "tokens.json",
            "tokens.json.lock",
            ".tokens.json.42.0123456789abcdef.tmp.keep",
            ".tokens.json.x42.0123456789abcdef.tmp",
            ".tokens.json.42.0123456789abcde.tmp",
            ".tokens.json..0123456789abcdef.tmp",
            ".other.json.42.0123456789abcdef.tmp",
            ".tokens.jsonx.42.0123456789abcdef.tmp",
        ];
        for name in no {
            assert!(!is_temp_name(name, "tokens.json"), "{name}");
        }
    }

    #[test]
    fn keyring_names_and_locations() {
        for good in ["default", "a", "..", "work.alexa-1_2", &"x".repeat(64)] {
            assert!(is_keyring_name(good), "{good}");
        }
        for bad in ["", "a/b", "a b", "ä", "a:b", &"x".repeat(65)] {
            assert!(!is_keyring_name(bad), "{bad}");
            assert!(matches!(
                FileStore::keyring(bad, "/x"),
                Err(StoreError::KeyringName)
            ));
        }
        let store = FileStore::keyring("work", "/cfg/lwa").unwrap();
        assert_eq!(store.location(), Location::Keyring("work"));
        assert_eq!(store.location().to_string(), "keyring:work");
        assert_eq!(store.lock_path(), Path::new("/cfg/lwa/keyring-work.lock"));
        let file = FileStore::new("/cfg/lwa/tokens.json");
        assert_eq!(file.location().to_string(), "/cfg/lwa/tokens.json");
        assert_eq!(
            StoreError::KeyringUnavailable {
                name: "work".into(),
                detail: "no bus".into()
            }
            .to_string(),
            "no OS keyring can be reached for keyring:work (no bus); nothing was written, in \
             the keyring or elsewhere"
        );
    }

    #[test]
    fn a_directory_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(dir.path());
        let expected = format!(
            "{} is a directory, not a token store file: refused",
            dir.path().display()
        );
        let load = store.load().unwrap_err();
        assert!(matches!(load, StoreError::Directory { .. }), "{load:?}");
        assert_eq!(load.to_string(), expected);
        let save = store.save(&tokens(1)).unwrap_err();
        assert_eq!(save.to_string(), expected);
        let remove = store.remove().unwrap_err();
        assert_eq!(remove.to_string(), expected);
    }

    #[cfg(unix)]
    #[test]
    fn removing_the_store_removes_its_lock_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(dir.path().join("tokens.json"));
        store.save(&tokens(1)).unwrap();
        assert!(dir.path().join("tokens.json.lock").exists());
        store.remove().unwrap();
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
        // Locked::remove keeps it: the guard still excludes others until dropped.
        store.save(&tokens(2)).unwrap();
        let lock = store.lock().unwrap();
        lock.remove().unwrap();
        assert!(dir.path().join("tokens.json.lock").exists());
        assert!(lock.load().unwrap().is_none());
    }

    /// A process that waited on the lock file a logout deleted must not hold "the lock" at
    /// the same time as one that locked the new file of that name. Without the check that
    /// the name still leads to the locked file, the waiter gets the deleted file's lock
    /// while the newcomer holds the new one, and both are inside at once.
    #[cfg(unix)]
    #[test]
    fn a_waiter_on_a_deleted_lock_file_does_not_share_the_lock() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(dir.path().join("tokens.json"));
        store.save(&tokens(1)).unwrap();
        let inside = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let hold = |store: FileStore, inside: Arc<AtomicUsize>, most: Arc<AtomicUsize>| {
            std::thread::spawn(move || {
                let lock = store.lock().unwrap();
                let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(400));
                inside.fetch_sub(1, Ordering::SeqCst);
                drop(lock);
            })
        };
        let logout = store.lock().unwrap();
        // The waiter opens the lock file now and waits on it.
        let waiter = hold(store.clone(), inside.clone(), most.clone());
        std::thread::sleep(Duration::from_millis(200));
        logout.remove_and_unlock().unwrap();
        // The newcomer creates and locks a new lock file at once; the waiter gets the old
        // one within a poll.
        let newcomer = hold(store.clone(), inside.clone(), most.clone());
        waiter.join().unwrap();
        newcomer.join().unwrap();
        assert_eq!(most.load(Ordering::SeqCst), 1, "two holders at once");
        assert!(dir.path().join("tokens.json.lock").exists());
    }

    #[test]
    fn debug_is_redacted() {
        let text = format!("{:?}", tokens(7));
        assert!(
            !text.contains("Atza|7") && !text.contains("Atzr|7"),
            "{text}"
        );
    }
}
