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
//! loaded), the refresh token and, if [`keep_access_token`](FlashStore::keep_access_token)
//! is on, the access token and its expiry, so that a reboot within the hour sends no request.
//! Keep the access token only if the session's clock is wall time (milliseconds since the Unix
//! epoch, from SNTP or an RTC): an expiry on a clock that restarts at boot means nothing after
//! a reboot. A store that would write the record as it already is writes nothing (flash wears
//! out); [`writes`](FlashStore::writes) counts the records actually written.
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
//! [sequential-storage]: https://docs.rs/sequential-storage

use core::fmt;
use core::ops::Range;

use embedded_storage::nor_flash::{ErrorType, NorFlash, ReadNorFlash};
use lwa_core::request::{MAX_CLIENT_ID_LEN, MAX_TOKEN_LEN};
use lwa_core::secret::Secret;
use lwa_core::session::{Instant, Session, TokenStore, Tokens};
use sequential_storage::cache::{Cache, Uncached};
use sequential_storage::map::{MapConfig, MapStorage, SerializationError, Value};

/// No RAM cache: the map reads the flash to find the record (a few pages, once per store).
type NoCache = Cache<Uncached, Uncached, Uncached, u8>;

/// The one key the record is stored under.
const KEY: u8 = 0;
/// The record's format, its first byte. A forgotten record is stored as [`FORGOTTEN`].
const FORMAT: u8 = 1;
/// A record whose tokens were deleted.
const FORGOTTEN: u8 = 0;

/// Bytes of the largest record: format, client ID, refresh token, access token and expiry,
/// with their lengths.
pub const MAX_RECORD_LEN: usize =
    1 + 1 + MAX_CLIENT_ID_LEN + 2 + MAX_TOKEN_LEN + 1 + 2 + MAX_TOKEN_LEN + 8;

/// A work buffer that fits any record with sequential-storage's item header and the key,
/// rounded up to a flash word of up to 32 bytes.
pub const BUFFER_LEN: usize = (MAX_RECORD_LEN + 1 + 32).div_ceil(32) * 32;

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
        }
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
    Forgotten,
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

/// The store's logic, once, over an async flash; the blocking store drives it to completion
/// over [`Blocking`].
struct Inner<'b, F: embedded_storage_async::nor_flash::NorFlash> {
    map: MapStorage<u8, F, NoCache>,
    buffer: &'b mut [u8],
    client_id: &'b str,
    keep_access_token: bool,
    writes: u32,
}

impl<'b, F: embedded_storage_async::nor_flash::NorFlash> Inner<'b, F> {
    fn new(
        flash: F,
        range: Range<u32>,
        buffer: &'b mut [u8],
        client_id: &'b str,
    ) -> Result<Self, FlashError<F::Error>> {
        let config = MapConfig::<F>::try_new(range).map_err(|_| FlashError::Range)?;
        // The key and the largest record, in whole flash words.
        if buffer.len() < (MAX_RECORD_LEN + 1).next_multiple_of(F::WRITE_SIZE) {
            return Err(FlashError::BufferTooSmall);
        }
        Ok(Self {
            map: MapStorage::new(flash, config, Cache::new_uncached()),
            buffer,
            client_id,
            keep_access_token: false,
            writes: 0,
        })
    }

    async fn load(&mut self) -> Result<Option<Stored<'_>>, FlashError<F::Error>> {
        let client_id = self.client_id;
        match self.map.fetch_item::<Record<'_>>(self.buffer, &KEY).await? {
            Some(Record::Tokens {
                client_id: stored,
                refresh,
                access,
            }) if stored == client_id => Ok(Some(Stored {
                refresh_token: Secret::new(refresh),
                access_token: access.map(|(t, at)| (Secret::new(t), Instant::from_millis(at))),
            })),
            _ => Ok(None),
        }
    }

    async fn restore(&mut self, session: &mut Session<'_>) -> Result<bool, FlashError<F::Error>> {
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

    /// Writes `record` unless the flash holds it already.
    async fn put(&mut self, record: Record<'_>) -> Result<(), FlashError<F::Error>> {
        let current = self.map.fetch_item::<Record<'_>>(self.buffer, &KEY).await;
        let same = match current {
            Ok(Some(stored)) => stored == record,
            // Nothing stored yet, and nothing to forget.
            Ok(None) => record == Record::Forgotten,
            // An unreadable record is replaced.
            Err(_) => false,
        };
        if same {
            return Ok(());
        }
        self.map.store_item(self.buffer, &KEY, &record).await?;
        self.writes += 1;
        Ok(())
    }

    async fn store(&mut self, tokens: &Tokens<'_>) -> Result<(), FlashError<F::Error>> {
        let access = if self.keep_access_token {
            tokens
                .access_token
                .map(|(t, at)| (t.expose(), at.as_millis()))
        } else {
            None
        };
        let record = Record::Tokens {
            client_id: self.client_id,
            refresh: tokens.refresh_token.expose(),
            access,
        };
        self.put(record).await
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
            .field("keep_access_token", &self.inner.keep_access_token)
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

    /// Keeps the access token and its expiry too (off by default). See the
    /// [module docs](self) for the clock this needs.
    ///
    /// ```
    /// # use lwa_embedded::flash::FlashStore;
    /// # use lwa_test_support::flash::RamFlash;
    /// # let mut memory = [0xFF; 2048];
    /// # let mut buffer = [0u8; lwa_embedded::flash::BUFFER_LEN];
    /// let store = FlashStore::new(RamFlash::<1024>::new(&mut memory), 0..2048, &mut buffer, "c")?
    ///     .keep_access_token(true);
    /// # Ok::<(), lwa_embedded::flash::FlashError<lwa_test_support::flash::PowerCut>>(())
    /// ```
    #[must_use]
    pub fn keep_access_token(mut self, keep: bool) -> Self {
        self.inner.keep_access_token = keep;
        self
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
        self.inner.map.destroy().0.0
    }
}

impl<F: NorFlash> TokenStore for FlashStore<'_, F> {
    type Error = FlashError<F::Error>;

    fn store(&mut self, tokens: &Tokens<'_>) -> Result<(), Self::Error> {
        embassy_futures::block_on(self.inner.store(tokens))
    }

    fn forget(&mut self) -> Result<(), Self::Error> {
        embassy_futures::block_on(self.inner.put(Record::Forgotten))
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
            .field("keep_access_token", &self.inner.keep_access_token)
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

    /// As [`FlashStore::keep_access_token`].
    #[must_use]
    pub fn keep_access_token(mut self, keep: bool) -> Self {
        self.inner.keep_access_token = keep;
        self
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
        self.inner.map.destroy().0
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
        self.inner.put(Record::Forgotten).await
    }
}
