//! The refresh token in NOR flash, safe against power cuts (feature `flash`).
//!
//! [`FlashStore`] (blocking, a [`TokenStore`] for [`blocking::Driver`](crate::blocking::Driver))
//! and [`AsyncFlashStore`] (for the async driver, feature `async` too) keep one record in a
//! key-value map of [sequential-storage], which appends items to flash pages and erases a page
//! only when it moves on, each item with its own CRCs. A power cut at any moment leaves the
//! record as it was before the store or as it is after it, never neither and never a mixture:
//! sequential-storage either finds the new item whole or falls back to the previous one. The
//! tests cut the power after every word write and every erase of a long run of refreshes,
//! on a NOR flash in RAM that loses its power (lwa-test-support's `RamFlash`), and count.
//!
//! The record holds the client ID the tokens belong to (a record of another client ID is not
//! loaded), the refresh token and, when the session keeps access tokens
//! ([`Config::keep_access_tokens`](lwa_core::session::Config::keep_access_tokens): the
//! session decides, and hands them to the store), the access token and its expiry, so that a
//! reboot within the hour sends no request. Keep access tokens only if the session's clock is
//! wall time (milliseconds since the Unix epoch, from SNTP or an RTC): an expiry on a clock
//! that restarts at boot means nothing after a reboot. A store that would write the record as it already is writes nothing (flash wears
//! out); [`writes`](FlashStore::writes) counts the records actually written (a forget's
//! padding records included).
//!
//! ```
//! use lwa_embedded::core::secret::Secret;
//! use lwa_embedded::core::session::{Instant, TokenStore, Tokens};
//! use lwa_embedded::flash::FlashStore;
//! use lwa_test_support::flash::RamFlash; // NOR flash in RAM; a device passes its HAL's
//!
//! let mut memory = [0xFF; 4 * 1024];
//! let mut buffer = [0u8; lwa_embedded::flash::BUFFER_LEN];
//! let flash = RamFlash::<1024>::new(&mut memory);
//! let mut store = FlashStore::new(flash, 0..4096, &mut buffer, "amzn1.application-oa2-client.1")?;
//! store.store(&Tokens { refresh_token: Secret::new("Atzr|1"), access_token: None })?;
//! store.store(&Tokens { refresh_token: Secret::new("Atzr|1"), access_token: None })?; // unchanged: not written
//! assert_eq!(store.writes(), 1);
//! let loaded = store.load()?.unwrap();
//! assert_eq!(loaded.refresh_token.expose(), "Atzr|1");
//! # Ok::<(), lwa_embedded::flash::FlashError<lwa_test_support::flash::PowerCut>>(())
//! ```
//!
//! # Sealed records
//!
//! [`sealed`](FlashStore::sealed) seals every record with AES-128-GCM under a key the board
//! supplies through [`SealingKey`]: read from a secure element, an eFuse or OTP block,
//! derived by a peripheral (the ESP32's HMAC peripheral over an eFuse key it never reveals),
//! or, on a board with none of these, a key the application chooses ([`ApplicationKey`]).
//! The client ID, the map key the record is stored under and the format version are bound as
//! associated data, and the nonce is synthetic: HMAC-SHA256 of that data and the plaintext,
//! under a key derived from the board's. It needs no counter and no random source, so no state
//! a power cut or a reboot could roll back: a nonce repeats only when the same plaintext is
//! sealed again, which writes the same bytes; two different plaintexts share one with
//! probability 2^-96 per pair. AES-128-GCM because embedded-tls links it (with HMAC and
//! SHA-256) for TLS 1.3: a device with TLS pays about 2.3 KiB of flash for sealing, one
//! without about 11.5 KiB (BENCHMARKS.md).
//!
//! A record that does not open (another key, so another device; another client ID; a changed
//! or truncated byte; a plain record where a sealed one is expected) loads as none: `load`
//! returns `Ok(None)`, `restore` `Ok(false)`, the device links again, and
//! [`unopened`](FlashStore::unopened) says why ([`OpenError`]). GCM checks the tag before it
//! decrypts: no part of a record that does not open is ever decrypted or handed out. The
//! work buffer is wiped after every store and restore.
//!
//! What it protects against: a dump of the flash (a returned, resold or discarded device, a
//! board whose flash chip was desoldered) when the key is not in that dump: a key in a secure
//! element, in eFuses the firmware reads but a flash dump does not hold, or one a peripheral
//! derives without revealing it. Also a token planted in the flash by someone with write
//! access (it does not open), and a record copied from another device. What it does not
//! protect against: anyone who can read the key, which includes a key kept in the same flash
//! or compiled into the firmware there (then sealing protects against casual reading only: a
//! search for `Atzr|` in a dump of the partition finds nothing), code running on the device,
//! and an attacker who reads the RAM while the device runs (the session holds the tokens in
//! the clear). The Pico W example has no secret storage; its key is the flash chip's unique
//! ID (see its README).
//!
//! # Forgetting
//!
//! [`forget`](TokenStore::forget) (logout, a refresh token LWA refused) leaves no byte of any
//! token in the store's range, sealed or not: it writes padding records through
//! sequential-storage until every page of the range has been erased once since the first of
//! them, then a small "forgotten" record. The first padding record already makes the store
//! load nothing; every step is one of sequential-storage's own writes, so a power cut during
//! a forget leaves the whole tokens (the forget did not begin) or a record that makes the
//! next `load`, `restore` or store wipe again from the start before anything else. Between
//! the cut and that next call the bytes of the old records are still in flash (sealed, if the
//! store seals). A forget costs one erase per page of the range and about two pages of writes
//! per page; a second forget writes nothing. An earlier version's tombstone is wiped the same
//! way the first time it is loaded. It needs no key: a device whose key is gone can still
//! forget.
//!
//! [sequential-storage]: https://docs.rs/sequential-storage

use core::cell::RefCell;
use core::fmt;
use core::ops::Range;

use embedded_storage::nor_flash::{ErrorType, NorFlash, ReadNorFlash};
use lwa_core::request::{MAX_CLIENT_ID_LEN, MAX_TOKEN_LEN};
use lwa_core::secret::Secret;
use lwa_core::session::{Instant, Session, TokenStore, Tokens};
use sequential_storage::cache::{Cache, Uncached};
use sequential_storage::map::{MapConfig, MapStorage, SerializationError, Value};
use zeroize::Zeroize;

mod seal;

use seal::Sealer;
pub use seal::{ApplicationKey, KEY_LEN, KeyUnavailable, OpenError, SealingKey};

/// No RAM cache: the map reads the flash to find the record (a few pages, once per store).
type NoCache = Cache<Uncached, Uncached, Uncached, u8>;

/// The one key the record is stored under.
const KEY: u8 = 0;
/// The record's format, its first byte. A forgotten record is stored as [`WIPED`]; a sealed
/// one starts with [`seal::SEALED`].
const FORMAT: u8 = 1;
/// A record whose tokens were deleted by an earlier version, which left their bytes in
/// flash: loading it finishes the wipe.
const FORGOTTEN: u8 = 0;
/// A wipe under way (the record is padding that pushes the old pages out); loading it
/// finishes the wipe.
const WIPING: u8 = 2;
/// The tokens were deleted, and every page that held them has been erased since.
const WIPED: u8 = 3;

/// Bytes of the largest record: format, client ID, refresh token, access token and expiry,
/// with their lengths.
pub const MAX_RECORD_LEN: usize =
    1 + 1 + MAX_CLIENT_ID_LEN + 2 + MAX_TOKEN_LEN + 1 + 2 + MAX_TOKEN_LEN + 8;

/// Bytes of the largest sealed record: the plain one with the format byte, nonce and tag.
pub const MAX_SEALED_RECORD_LEN: usize = MAX_RECORD_LEN + seal::OVERHEAD;

/// A work buffer that fits any record, sealed or not, with the key, rounded up to a flash
/// word of up to 32 bytes.
pub const BUFFER_LEN: usize = (MAX_SEALED_RECORD_LEN + 1).next_multiple_of(32);

/// What went wrong with the flash or the record in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum FlashError<E> {
    /// The flash reported an error (the record is as before: sequential-storage appends).
    Storage(E),
    /// The flash range holds data sequential-storage cannot repair: erase the range.
    Corrupted,
    /// The flash range is full and no page can be freed (it is smaller than two records).
    Full,
    /// The stored record is not a record of this format, or the session cannot hold its
    /// tokens.
    Record,
    /// The work buffer is smaller than [`BUFFER_LEN`] needs for this flash.
    BufferTooSmall,
    /// The flash range does not suit sequential-storage: it needs at least two whole pages.
    Range,
    /// The board did not supply the sealing key ([`SealingKey`]): nothing was loaded or
    /// written.
    Key,
}

impl<E: fmt::Debug> fmt::Display for FlashError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Storage(e) => write!(f, "flash error: {e:?}"),
            Self::Corrupted => f.write_str("the token store's flash is corrupted: erase it"),
            Self::Full => f.write_str("the token store's flash range is full"),
            Self::Record => f.write_str("the stored token record is not readable"),
            Self::BufferTooSmall => f.write_str("the token store's work buffer is too small"),
            Self::Range => {
                f.write_str("the token store's flash range must be at least two whole erase pages")
            }
            Self::Key => f.write_str("the token store's sealing key is not available"),
        }
    }
}

impl<E: fmt::Debug> core::error::Error for FlashError<E> {}

impl<E> From<KeyUnavailable> for FlashError<E> {
    fn from(_: KeyUnavailable) -> Self {
        Self::Key
    }
}

impl<E> From<sequential_storage::Error<E>> for FlashError<E> {
    fn from(e: sequential_storage::Error<E>) -> Self {
        use sequential_storage::Error as S;
        match e {
            S::Storage { value, .. } => Self::Storage(value),
            S::FullStorage => Self::Full,
            S::BufferTooSmall(_) | S::BufferTooBig => Self::BufferTooSmall,
            S::SerializationError(_) => Self::Record,
            _ => Self::Corrupted,
        }
    }
}

/// The record as stored: the client ID and tokens, or nothing (forgotten).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Record<'a> {
    /// An earlier version's tombstone.
    Forgotten,
    /// A wipe under way, with this many bytes of padding.
    Wiping(usize),
    /// Forgotten and wiped.
    Wiped,
    Tokens {
        client_id: &'a str,
        refresh: &'a str,
        access: Option<(&'a str, u64)>,
    },
}

/// Appends `bytes` to `buf` at `*at`.
fn put(buf: &mut [u8], at: &mut usize, bytes: &[u8]) -> Result<(), SerializationError> {
    let end = *at + bytes.len();
    buf.get_mut(*at..end)
        .ok_or(SerializationError::BufferTooSmall)?
        .copy_from_slice(bytes);
    *at = end;
    Ok(())
}

/// Reads `n` bytes of `buf` at `*at`.
fn take<'a>(buf: &'a [u8], at: &mut usize, n: usize) -> Result<&'a [u8], SerializationError> {
    let bytes = buf
        .get(*at..*at + n)
        .ok_or(SerializationError::InvalidFormat)?;
    *at += n;
    Ok(bytes)
}

/// Reads a length-prefixed UTF-8 string of at most `max` bytes (`wide`: a two-byte length).
fn take_str<'a>(
    buf: &'a [u8],
    at: &mut usize,
    wide: bool,
    max: usize,
) -> Result<&'a str, SerializationError> {
    let len = if wide {
        let b = take(buf, at, 2)?;
        usize::from(u16::from_le_bytes([
            b.first().copied().unwrap_or(0),
            b.get(1).copied().unwrap_or(0),
        ]))
    } else {
        usize::from(take(buf, at, 1)?.first().copied().unwrap_or(0))
    };
    if len > max {
        return Err(SerializationError::InvalidFormat);
    }
    core::str::from_utf8(take(buf, at, len)?).map_err(|_| SerializationError::InvalidFormat)
}

impl<'a> Value<'a> for Record<'a> {
    fn serialize_into(&self, buf: &mut [u8]) -> Result<usize, SerializationError> {
        let mut at = 0;
        match *self {
            Self::Forgotten => put(buf, &mut at, &[FORGOTTEN])?,
            Self::Wiped => put(buf, &mut at, &[WIPED])?,
            Self::Wiping(padding) => {
                put(buf, &mut at, &[WIPING])?;
                buf.get_mut(at..at + padding)
                    .ok_or(SerializationError::BufferTooSmall)?
                    .fill(0);
                at += padding;
            }
            Self::Tokens {
                client_id,
                refresh,
                access,
            } => {
                let (Ok(cid_len), Ok(refresh_len)) =
                    (u8::try_from(client_id.len()), u16::try_from(refresh.len()))
                else {
                    return Err(SerializationError::InvalidData);
                };
                if client_id.len() > MAX_CLIENT_ID_LEN || refresh.len() > MAX_TOKEN_LEN {
                    return Err(SerializationError::InvalidData);
                }
                put(buf, &mut at, &[FORMAT, cid_len])?;
                put(buf, &mut at, client_id.as_bytes())?;
                put(buf, &mut at, &refresh_len.to_le_bytes())?;
                put(buf, &mut at, refresh.as_bytes())?;
                match access {
                    None => put(buf, &mut at, &[0])?,
                    Some((token, expires_at)) => {
                        let Ok(len) = u16::try_from(token.len()) else {
                            return Err(SerializationError::InvalidData);
                        };
                        if token.len() > MAX_TOKEN_LEN {
                            return Err(SerializationError::InvalidData);
                        }
                        put(buf, &mut at, &[1])?;
                        put(buf, &mut at, &len.to_le_bytes())?;
                        put(buf, &mut at, token.as_bytes())?;
                        put(buf, &mut at, &expires_at.to_le_bytes())?;
                    }
                }
            }
        }
        Ok(at)
    }

    fn deserialize_from(buf: &'a [u8]) -> Result<(Self, usize), SerializationError> {
        let mut at = 0;
        match take(buf, &mut at, 1)?.first() {
            Some(&FORGOTTEN) => return Ok((Self::Forgotten, at)),
            Some(&WIPED) => return Ok((Self::Wiped, at)),
            Some(&WIPING) => return Ok((Self::Wiping(buf.len() - at), buf.len())),
            Some(&FORMAT) => {}
            _ => return Err(SerializationError::InvalidFormat),
        }
        let client_id = take_str(buf, &mut at, false, MAX_CLIENT_ID_LEN)?;
        let refresh = take_str(buf, &mut at, true, MAX_TOKEN_LEN)?;
        let access = match take(buf, &mut at, 1)?.first() {
            Some(0) => None,
            Some(1) => {
                let token = take_str(buf, &mut at, true, MAX_TOKEN_LEN)?;
                let mut expires = [0u8; 8];
                expires.copy_from_slice(take(buf, &mut at, 8)?);
                Some((token, u64::from_le_bytes(expires)))
            }
            _ => return Err(SerializationError::InvalidFormat),
        };
        Ok((
            Self::Tokens {
                client_id,
                refresh,
                access,
            },
            at,
        ))
    }
}

/// Tokens loaded from flash, borrowed from the store's work buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored<'a> {
    /// The refresh token.
    pub refresh_token: Secret<'a>,
    /// The access token and its expiry on the session's clock, if the store keeps them.
    pub access_token: Option<(Secret<'a>, Instant)>,
}

/// A record sealed as sequential-storage writes it: the plain record serialized after the
/// sealed record's head, then encrypted in place. The keys are derived there, in
/// synchronous code, so that they never sit in a future (a blocking store runs its futures
/// on the stack, and room for them would be kept even by a store that does not seal).
struct Sealing<'a, 'k> {
    record: Record<'a>,
    board: RefCell<&'a mut (dyn SealingKey + 'k)>,
    ops: &'static seal::Ops,
    client_id: &'a str,
}

/// [`SerializationError::Custom`]: the board did not supply the key.
const KEY_UNAVAILABLE: i32 = 1;

impl<'a> Value<'a> for Sealing<'a, '_> {
    fn serialize_into(&self, buf: &mut [u8]) -> Result<usize, SerializationError> {
        let unavailable = || SerializationError::Custom(KEY_UNAVAILABLE);
        let mut board = self.board.try_borrow_mut().map_err(|_| unavailable())?;
        let sealer = Sealer::derive(&mut **board, self.ops).map_err(|_| unavailable())?;
        let body = buf
            .get_mut(seal::BODY..)
            .ok_or(SerializationError::BufferTooSmall)?;
        let len = self.record.serialize_into(body)?;
        sealer
            .seal(KEY, self.client_id, buf, len)
            .ok_or(SerializationError::BufferTooSmall)
    }

    fn deserialize_from(_: &'a [u8]) -> Result<(Self, usize), SerializationError> {
        // Sealed records are read as bytes and opened in place (`Inner::current`).
        Err(SerializationError::InvalidFormat)
    }
}

/// What the flash holds under the record's key, without borrowing the buffer (the plain
/// record, when there is one, is at `plain` in it).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Found {
    /// No record.
    Nothing,
    /// Forgotten and wiped.
    Wiped,
    /// Forgotten, the wipe not finished (or an earlier version's tombstone).
    Unwiped,
    /// Tokens of this client ID, at `plain` in the buffer; `sealed`: they were sealed.
    Tokens { plain: Range<usize>, sealed: bool },
    /// A record that did not open.
    Unopened(OpenError),
}

/// A flash that counts its page erases: a wipe goes on until every page has been erased.
struct Counted<F> {
    flash: F,
    erases: u32,
}

impl<F: embedded_storage_async::nor_flash::ErrorType> embedded_storage_async::nor_flash::ErrorType
    for Counted<F>
{
    type Error = F::Error;
}

impl<F: embedded_storage_async::nor_flash::ReadNorFlash>
    embedded_storage_async::nor_flash::ReadNorFlash for Counted<F>
{
    const READ_SIZE: usize = F::READ_SIZE;

    async fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), F::Error> {
        self.flash.read(offset, bytes).await
    }

    fn capacity(&self) -> usize {
        self.flash.capacity()
    }
}

impl<F: embedded_storage_async::nor_flash::NorFlash> embedded_storage_async::nor_flash::NorFlash
    for Counted<F>
{
    const WRITE_SIZE: usize = F::WRITE_SIZE;
    const ERASE_SIZE: usize = F::ERASE_SIZE;

    async fn erase(&mut self, from: u32, to: u32) -> Result<(), F::Error> {
        let pages = (to.saturating_sub(from)).div_ceil(u32::try_from(F::ERASE_SIZE).unwrap_or(1));
        let result = self.flash.erase(from, to).await;
        if result.is_ok() {
            self.erases = self.erases.saturating_add(pages);
        }
        result
    }

    async fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), F::Error> {
        self.flash.write(offset, bytes).await
    }
}

/// The store's logic, once, over an async flash; the blocking store drives it to completion
/// over [`Blocking`].
struct Inner<'b, F: embedded_storage_async::nor_flash::NorFlash> {
    map: MapStorage<u8, Counted<F>, NoCache>,
    buffer: &'b mut [u8],
    client_id: &'b str,
    /// The board's key and the sealing code, when sealed.
    key: Option<(&'b mut dyn SealingKey, &'static seal::Ops)>,
    writes: u32,
    unopened: Option<OpenError>,
    /// Erase pages in the range.
    pages: u32,
}

impl<'b, F: embedded_storage_async::nor_flash::NorFlash> Inner<'b, F> {
    fn new(
        flash: F,
        range: Range<u32>,
        buffer: &'b mut [u8],
        client_id: &'b str,
    ) -> Result<Self, FlashError<F::Error>> {
        let config =
            MapConfig::<Counted<F>>::try_new(range.clone()).map_err(|_| FlashError::Range)?;
        // The key and the largest record, in whole flash words.
        if buffer.len() < (MAX_SEALED_RECORD_LEN + 1).next_multiple_of(F::WRITE_SIZE) {
            return Err(FlashError::BufferTooSmall);
        }
        let page = u32::try_from(F::ERASE_SIZE).map_err(|_| FlashError::Range)?;
        Ok(Self {
            map: MapStorage::new(Counted { flash, erases: 0 }, config, Cache::new_uncached()),
            buffer,
            client_id,
            key: None,
            writes: 0,
            unopened: None,
            pages: (range.end - range.start) / page,
        })
    }

    /// Reads the record under [`KEY`] into the buffer and, if `open` and the store seals,
    /// opens it (the keys derived and dropped here, in synchronous code).
    async fn current(&mut self, open: bool) -> Result<Found, FlashError<F::Error>> {
        let base = self.buffer.as_ptr().addr();
        let Some(raw) = self.map.fetch_item::<&[u8]>(self.buffer, &KEY).await? else {
            return Ok(Found::Nothing);
        };
        // Where sequential-storage put the value in the buffer, so that it can be opened in
        // place once the shared borrow ends.
        let start = raw.as_ptr().addr().wrapping_sub(base);
        let range = start..start + raw.len();
        let client_id = self.client_id;
        let Some(bytes) = self.buffer.get_mut(range.clone()) else {
            return Ok(Found::Unopened(OpenError::Format));
        };
        let (plain, sealed) = if bytes.first() == Some(&seal::SEALED) {
            let (true, Some((board, ops))) = (open, &mut self.key) else {
                return Ok(Found::Unopened(OpenError::NoKey));
            };
            let sealer = Sealer::derive(&mut **board, ops)?;
            match sealer.open(KEY, client_id, bytes) {
                Ok(plain) => {
                    let offset = plain.as_ptr().addr().wrapping_sub(base);
                    (offset..offset + plain.len(), true)
                }
                Err(e) => return Ok(Found::Unopened(e)),
            }
        } else {
            (range, false)
        };
        let record = self
            .buffer
            .get(plain.clone())
            .and_then(|b| Record::deserialize_from(b).ok());
        Ok(match record {
            None => Found::Unopened(OpenError::Format),
            Some((Record::Forgotten | Record::Wiping(_), _)) if !sealed => Found::Unwiped,
            Some((Record::Wiped, _)) if !sealed => Found::Wiped,
            Some((Record::Tokens { client_id: c, .. }, _)) if c == client_id => {
                Found::Tokens { plain, sealed }
            }
            Some((Record::Tokens { .. }, _)) => Found::Unopened(OpenError::OtherClient),
            // A tombstone is never sealed.
            Some(_) => Found::Unopened(OpenError::Format),
        })
    }

    /// The plain record at `plain` in the buffer.
    fn record_at(&self, plain: Range<usize>) -> Option<Record<'_>> {
        Record::deserialize_from(self.buffer.get(plain)?)
            .ok()
            .map(|(r, _)| r)
    }

    async fn load(&mut self) -> Result<Option<Stored<'_>>, FlashError<F::Error>> {
        let found = self.current(true).await?;
        let plain = match found {
            Found::Tokens { plain, sealed } if sealed == self.key.is_some() => plain,
            Found::Tokens { .. } => {
                // A plain record where sealed ones are expected.
                self.unopened = Some(OpenError::Plain);
                self.buffer.zeroize();
                return Ok(None);
            }
            Found::Unopened(e) => {
                self.unopened = Some(e);
                self.buffer.zeroize();
                return Ok(None);
            }
            Found::Unwiped => {
                // A forget that a power cut interrupted (or an earlier version's): finish it
                // before anything else is written.
                self.wipe().await?;
                return Ok(None);
            }
            Found::Nothing | Found::Wiped => return Ok(None),
        };
        match self.record_at(plain) {
            Some(Record::Tokens {
                refresh, access, ..
            }) => Ok(Some(Stored {
                refresh_token: Secret::new(refresh),
                access_token: access.map(|(t, at)| (Secret::new(t), Instant::from_millis(at))),
            })),
            _ => Ok(None),
        }
    }

    async fn restore(&mut self, session: &mut Session<'_>) -> Result<bool, FlashError<F::Error>> {
        let restored = self.restore_into(session).await;
        // The plaintext tokens are in the session now; none stay in the work buffer.
        self.buffer.zeroize();
        restored
    }

    async fn restore_into(
        &mut self,
        session: &mut Session<'_>,
    ) -> Result<bool, FlashError<F::Error>> {
        let Some(stored) = self.load().await? else {
            return Ok(false);
        };
        session
            .restore_refresh_token(stored.refresh_token.expose())
            .map_err(|_| FlashError::Record)?;
        if let Some((token, expires_at)) = stored.access_token {
            session
                .restore_access_token(token.expose(), expires_at)
                .map_err(|_| FlashError::Record)?;
        }
        Ok(true)
    }

    /// Writes the tokens `record` unless the flash holds them already.
    async fn put(&mut self, record: Record<'_>) -> Result<(), FlashError<F::Error>> {
        let current = self.current(true).await;
        let same = match current {
            Ok(Found::Tokens { plain, sealed }) if sealed == self.key.is_some() => {
                self.record_at(plain) == Some(record)
            }
            // A plain record becomes a sealed one: the plain bytes leave the flash first.
            Ok(Found::Tokens { .. }) | Ok(Found::Unwiped) => {
                self.wipe().await?;
                false
            }
            // Nothing stored yet, or an unreadable record, which is replaced.
            _ => false,
        };
        if !same {
            match &mut self.key {
                Some((board, ops)) => {
                    let sealing = Sealing {
                        record,
                        board: RefCell::new(&mut **board),
                        ops,
                        client_id: self.client_id,
                    };
                    let stored = self.map.store_item(self.buffer, &KEY, &sealing).await;
                    stored.map_err(|e| match e {
                        sequential_storage::Error::SerializationError(
                            SerializationError::Custom(KEY_UNAVAILABLE),
                        ) => FlashError::Key,
                        e => e.into(),
                    })?;
                }
                None => self.map.store_item(self.buffer, &KEY, &record).await?,
            }
            self.writes += 1;
        }
        self.buffer.zeroize();
        Ok(())
    }

    async fn store(&mut self, tokens: &Tokens<'_>) -> Result<(), FlashError<F::Error>> {
        let access = tokens
            .access_token
            .map(|(t, at)| (t.expose(), at.as_millis()));
        let record = Record::Tokens {
            client_id: self.client_id,
            refresh: tokens.refresh_token.expose(),
            access,
        };
        self.put(record).await
    }

    /// Deletes the tokens and erases every page that held them (no key needed).
    async fn forget(&mut self) -> Result<(), FlashError<F::Error>> {
        let result = match self.current(false).await {
            Ok(Found::Nothing | Found::Wiped) => Ok(()),
            // sequential-storage cannot repair the range: erasing it is the only way out.
            Err(FlashError::Corrupted) => self.map.erase_all().await.map_err(FlashError::from),
            Err(e) => Err(e),
            Ok(_) => self.wipe().await,
        };
        self.buffer.zeroize();
        result
    }

    /// Forgets the tokens so that no byte of them stays in the range: writes padding records
    /// (the first one makes the store load nothing) until sequential-storage has erased every
    /// page of the range once, then a small [`WIPED`] record. Every step is one of
    /// sequential-storage's own writes, so a power cut leaves the tokens (before the first
    /// padding record is whole) or a [`WIPING`] record, which the next load or store sees
    /// and wipes again from the start.
    async fn wipe(&mut self) -> Result<(), FlashError<F::Error>> {
        // Half a page (or half the buffer) per padding record: a page closes, and the next
        // one is erased, every two or three records.
        let padding = F::ERASE_SIZE.min(self.buffer.len()) / 2;
        self.map
            .store_item(self.buffer, &KEY, &Record::Wiping(padding))
            .await?;
        self.writes += 1;
        // Erases counted from here: after `pages` of them, every page that held anything
        // before (the tokens, copies sequential-storage migrated) has been erased; the newest
        // token record is no longer the newest item and is never migrated again.
        let start = self.map.flash().erases;
        let per_page = u32::try_from(F::ERASE_SIZE / padding.max(1)).unwrap_or(u32::MAX);
        let bound = (self.pages + 2).saturating_mul(per_page.saturating_add(2));
        let mut written = 0;
        while self.map.flash().erases.wrapping_sub(start) < self.pages {
            if written > bound {
                return Err(FlashError::Full);
            }
            self.map
                .store_item(self.buffer, &KEY, &Record::Wiping(padding))
                .await?;
            self.writes += 1;
            written += 1;
        }
        self.map
            .store_item(self.buffer, &KEY, &Record::Wiped)
            .await?;
        self.writes += 1;
        Ok(())
    }
}

/// A blocking flash seen through the async traits sequential-storage needs; every call
/// completes at once.
struct Blocking<F>(F);

impl<F: ErrorType> embedded_storage_async::nor_flash::ErrorType for Blocking<F> {
    type Error = F::Error;
}

impl<F: ReadNorFlash> embedded_storage_async::nor_flash::ReadNorFlash for Blocking<F> {
    const READ_SIZE: usize = F::READ_SIZE;

    async fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), F::Error> {
        self.0.read(offset, bytes)
    }

    fn capacity(&self) -> usize {
        self.0.capacity()
    }
}

impl<F: NorFlash> embedded_storage_async::nor_flash::NorFlash for Blocking<F> {
    const WRITE_SIZE: usize = F::WRITE_SIZE;
    const ERASE_SIZE: usize = F::ERASE_SIZE;

    async fn erase(&mut self, from: u32, to: u32) -> Result<(), F::Error> {
        self.0.erase(from, to)
    }

    async fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), F::Error> {
        self.0.write(offset, bytes)
    }
}

/// The token record in a blocking NOR flash: a [`TokenStore`] for the blocking driver. See
/// the [module docs](self).
pub struct FlashStore<'b, F: NorFlash> {
    inner: Inner<'b, Blocking<F>>,
}

impl<F: NorFlash> fmt::Debug for FlashStore<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FlashStore")
            .field("sealed", &self.inner.key.is_some())
            .field("writes", &self.inner.writes)
            .finish_non_exhaustive()
    }
}

impl<'b, F: NorFlash> FlashStore<'b, F> {
    /// A store in `range` of `flash` (at least two whole erase pages, used by no one else),
    /// with `buffer` to work in ([`BUFFER_LEN`] bytes fit any record) and the client ID the
    /// tokens belong to.
    ///
    /// # Errors
    /// [`FlashError::Range`] for a range sequential-storage cannot use,
    /// [`FlashError::BufferTooSmall`] for a buffer that cannot hold a record.
    ///
    /// ```
    /// use lwa_embedded::flash::{FlashError, FlashStore};
    /// use lwa_test_support::flash::RamFlash;
    /// let mut memory = [0xFF; 2048];
    /// let mut buffer = [0u8; lwa_embedded::flash::BUFFER_LEN];
    /// let one_page = FlashStore::new(RamFlash::<1024>::new(&mut memory), 0..1024, &mut buffer, "c");
    /// assert!(matches!(one_page, Err(FlashError::Range)));
    /// ```
    pub fn new(
        flash: F,
        range: Range<u32>,
        buffer: &'b mut [u8],
        client_id: &'b str,
    ) -> Result<Self, FlashError<F::Error>> {
        Ok(Self {
            inner: Inner::new(Blocking(flash), range, buffer, client_id)?,
        })
    }

    /// Seals every record with AES-128-GCM under `key`, the board's (see the
    /// [module docs](self) for what this protects against). A sealed store loads only
    /// records sealed under this key for this client ID: a plain record, or one that does
    /// not open, loads as none ([`unopened`](Self::unopened) says why), and the next store
    /// replaces it (a plain record is wiped first).
    ///
    /// ```
    /// use lwa_embedded::core::secret::Secret;
    /// use lwa_embedded::core::session::{TokenStore, Tokens};
    /// use lwa_embedded::flash::{ApplicationKey, FlashStore, OpenError};
    /// use lwa_test_support::flash::RamFlash;
    /// let mut memory = [0xFF; 2048];
    /// let mut buffer = [0u8; lwa_embedded::flash::BUFFER_LEN];
    /// let mut key = ApplicationKey::new([0x5A; 16]);
    /// let mut store = FlashStore::new(RamFlash::<1024>::new(&mut memory), 0..2048, &mut buffer, "c")?
    ///     .sealed(&mut key);
    /// store.store(&Tokens { refresh_token: Secret::new("Atzr|sealed"), access_token: None })?;
    /// assert_eq!(store.load()?.unwrap().refresh_token.expose(), "Atzr|sealed");
    /// drop(store);
    /// assert!(!memory.windows(6).any(|w| w == b"sealed")); // not in the flash
    ///
    /// // Under another key (another device), the record does not open: no token.
    /// let mut buffer = [0u8; lwa_embedded::flash::BUFFER_LEN];
    /// let mut other = ApplicationKey::new([0xA5; 16]);
    /// let mut store = FlashStore::new(RamFlash::<1024>::new(&mut memory), 0..2048, &mut buffer, "c")?
    ///     .sealed(&mut other);
    /// assert!(store.load()?.is_none());
    /// assert_eq!(store.unopened(), Some(OpenError::Sealed));
    /// # Ok::<(), lwa_embedded::flash::FlashError<lwa_test_support::flash::PowerCut>>(())
    /// ```
    #[must_use]
    pub fn sealed(mut self, key: &'b mut dyn SealingKey) -> Self {
        self.inner.key = Some((key, &seal::OPS));
        self
    }

    /// Why the last record found was not loaded (none if every one loaded): a record that
    /// does not open is no token (the device links again), and this says which.
    #[must_use]
    pub fn unopened(&self) -> Option<OpenError> {
        self.inner.unopened
    }

    /// The stored tokens, if the flash holds tokens of this client ID.
    ///
    /// # Errors
    /// A [`FlashError`] when the flash or the record cannot be read.
    ///
    /// ```
    /// # use lwa_embedded::flash::FlashStore;
    /// # use lwa_test_support::flash::RamFlash;
    /// # let mut memory = [0xFF; 2048];
    /// # let mut buffer = [0u8; lwa_embedded::flash::BUFFER_LEN];
    /// let mut store = FlashStore::new(RamFlash::<1024>::new(&mut memory), 0..2048, &mut buffer, "c")?;
    /// assert!(store.load()?.is_none()); // a fresh flash
    /// # Ok::<(), lwa_embedded::flash::FlashError<lwa_test_support::flash::PowerCut>>(())
    /// ```
    pub fn load(&mut self) -> Result<Option<Stored<'_>>, FlashError<F::Error>> {
        embassy_futures::block_on(self.inner.load())
    }

    /// Hands the stored tokens to `session` ([`Session::restore_refresh_token`], and
    /// [`Session::restore_access_token`] when kept); `false` when there are none.
    ///
    /// # Errors
    /// A [`FlashError`] when the flash or the record cannot be read.
    ///
    /// ```
    /// # use lwa_embedded::flash::FlashStore;
    /// # use lwa_test_support::flash::RamFlash;
    /// use lwa_embedded::core::session::{Config, Session};
    /// # let mut memory = [0xFF; 2048];
    /// # let mut buffer = [0u8; lwa_embedded::flash::BUFFER_LEN];
    /// let mut store = FlashStore::new(RamFlash::<1024>::new(&mut memory), 0..2048, &mut buffer, "c")?;
    /// let mut session = Session::new(Config::new("c"));
    /// assert!(!store.restore(&mut session)?);
    /// # Ok::<(), lwa_embedded::flash::FlashError<lwa_test_support::flash::PowerCut>>(())
    /// ```
    pub fn restore(&mut self, session: &mut Session<'_>) -> Result<bool, FlashError<F::Error>> {
        embassy_futures::block_on(self.inner.restore(session))
    }

    /// Records written to flash since this store was made (unchanged ones are not).
    #[must_use]
    pub fn writes(&self) -> u32 {
        self.inner.writes
    }

    /// The flash back.
    pub fn into_flash(self) -> F {
        self.inner.map.destroy().0.flash.0
    }
}

impl<F: NorFlash> TokenStore for FlashStore<'_, F> {
    type Error = FlashError<F::Error>;

    fn store(&mut self, tokens: &Tokens<'_>) -> Result<(), Self::Error> {
        embassy_futures::block_on(self.inner.store(tokens))
    }

    fn forget(&mut self) -> Result<(), Self::Error> {
        embassy_futures::block_on(self.inner.forget())
    }
}

/// The token record in an async NOR flash (`embedded-storage-async`), for the async driver
/// ([`asynch::TokenStore`](crate::asynch::TokenStore)). The same store as [`FlashStore`].
#[cfg(feature = "async")]
pub struct AsyncFlashStore<'b, F: embedded_storage_async::nor_flash::NorFlash> {
    inner: Inner<'b, F>,
}

#[cfg(feature = "async")]
impl<F: embedded_storage_async::nor_flash::NorFlash> fmt::Debug for AsyncFlashStore<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncFlashStore")
            .field("sealed", &self.inner.key.is_some())
            .field("writes", &self.inner.writes)
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "async")]
impl<'b, F: embedded_storage_async::nor_flash::NorFlash> AsyncFlashStore<'b, F> {
    /// As [`FlashStore::new`].
    ///
    /// # Errors
    /// As [`FlashStore::new`].
    ///
    /// ```
    /// use lwa_embedded::flash::AsyncFlashStore;
    /// use lwa_test_support::flash::RamFlash;
    /// let mut memory = [0xFF; 2048];
    /// let mut buffer = [0u8; lwa_embedded::flash::BUFFER_LEN];
    /// let store = AsyncFlashStore::new(RamFlash::<1024>::new(&mut memory), 0..2048, &mut buffer, "c");
    /// assert!(store.is_ok());
    /// ```
    pub fn new(
        flash: F,
        range: Range<u32>,
        buffer: &'b mut [u8],
        client_id: &'b str,
    ) -> Result<Self, FlashError<F::Error>> {
        Ok(Self {
            inner: Inner::new(flash, range, buffer, client_id)?,
        })
    }

    /// As [`FlashStore::sealed`].
    #[must_use]
    pub fn sealed(mut self, key: &'b mut dyn SealingKey) -> Self {
        self.inner.key = Some((key, &seal::OPS));
        self
    }

    /// As [`FlashStore::unopened`].
    #[must_use]
    pub fn unopened(&self) -> Option<OpenError> {
        self.inner.unopened
    }

    /// As [`FlashStore::load`].
    ///
    /// # Errors
    /// As [`FlashStore::load`].
    pub async fn load(&mut self) -> Result<Option<Stored<'_>>, FlashError<F::Error>> {
        self.inner.load().await
    }

    /// As [`FlashStore::restore`].
    ///
    /// # Errors
    /// As [`FlashStore::restore`].
    pub async fn restore(
        &mut self,
        session: &mut Session<'_>,
    ) -> Result<bool, FlashError<F::Error>> {
        self.inner.restore(session).await
    }

    /// As [`FlashStore::writes`].
    #[must_use]
    pub fn writes(&self) -> u32 {
        self.inner.writes
    }

    /// The flash back.
    pub fn into_flash(self) -> F {
        self.inner.map.destroy().0.flash
    }
}

#[cfg(feature = "async")]
impl<F: embedded_storage_async::nor_flash::NorFlash> crate::asynch::TokenStore
    for AsyncFlashStore<'_, F>
{
    type Error = FlashError<F::Error>;

    async fn store(&mut self, tokens: &Tokens<'_>) -> Result<(), Self::Error> {
        self.inner.store(tokens).await
    }

    async fn forget(&mut self) -> Result<(), Self::Error> {
        self.inner.forget().await
    }
}
