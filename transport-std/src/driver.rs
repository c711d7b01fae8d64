//! A blocking driver for lwa-core's [`Session`]: it carries out the session's actions with a
//! [`Client`], a [`TokenStore`], the system clock and the OS random generator. All decisions
//! stay in the session: when to refresh (the 10-minute margin), which refresh token to keep,
//! when a token expires, what to retry.
//!
//! It has the shape of lwa-embedded's drivers: [`Driver::drive`] carries out requests and
//! stores until the session needs the application, and answers with a [`Next`] (a token, a
//! time to wait, a code to show, a sign-in, a stop). [`Driver::token`] is a thin loop over it
//! that sleeps through the waits; [`Driver::token_once`] makes at most one request and
//! reports its failure instead of retrying, for commands a person runs.
//!
//! [`Driver::open`] opens a session from a [`FileStore`] in one call: it restores what the
//! store holds for the client, and carries out what the session asks to store: every new
//! refresh token before the access token is used, and, with
//! [`Config::keep_access_tokens`](lwa_core::session::Config::keep_access_tokens) (what a
//! host usually wants: the next run is a new process), every new access token, so that the
//! next run need not refresh. What is stored and when is the session's rule, the same on
//! hosts and devices; the driver only carries it out.
//!
//! ```no_run
//! use lwa_std::client::Client;
//! use lwa_std::core::endpoint::{Endpoint, Region};
//! use lwa_std::core::session::Config;
//! use lwa_std::driver::{Driver, Next, Restore};
//! use lwa_std::store::FileStore;
//!
//! let client = Client::new(&Endpoint::region(Region::Na))?;
//! let config = Config::new("amzn1.application-oa2-client.abc");
//! let mut driver = Driver::open(client, config, FileStore::new("tokens.json"), Restore::Tokens)?;
//! let token = driver.token(&mut |next| {
//!     if let Next::ShowCode { user_code, verification_uri, .. } = next {
//!         eprintln!("sign in at {verification_uri} with the code {user_code}");
//!     }
//! })?;
//! println!("Authorization: Bearer {}", token.as_str());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::time::{Duration, Instant as StdInstant, SystemTime, UNIX_EPOCH};

use lwa_core::exchange::Outcome;
pub use lwa_core::session::Next;
use lwa_core::session::{Action, Config, Instant, Session, SessionError, StopReason, TokenStore};
use zeroize::Zeroizing;

use crate::client::{BUFFER_LEN, Client, Error as ClientError};
use crate::store::{FileStore, SessionStore, StoreError};

/// An OAuth error LWA answered with. The description is the server's text: escape it
/// before it reaches a terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The HTTP status.
    pub status: u16,
    /// The OAuth error code (`invalid_grant`, `invalid_client`, ...).
    pub code: String,
    /// The `error_description`, if the answer had a non-empty one.
    pub description: Option<String>,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.description {
            Some(d) => write!(f, "{}: {d} (HTTP {})", self.code, self.status),
            None => write!(f, "{} (HTTP {})", self.code, self.status),
        }
    }
}

/// Why [`Driver::drive`], [`Driver::token`] or [`Driver::token_once`] returned without what
/// was asked.
#[derive(Debug)]
#[non_exhaustive]
pub enum DriverError<E> {
    /// No refresh token and no code-based linking: a person must sign in (an
    /// authorization code, or a session configured for code-based linking).
    SignInRequired,
    /// LWA refused the configuration.
    Stopped(StopReason),
    /// Storing or deleting tokens failed; the session keeps them and retries on the next
    /// call.
    Store(E),
    /// The session was driven out of order (a bug in the driver), or a restored token does
    /// not fit it.
    Session(SessionError),
    /// Requests kept failing for longer than [`Driver::give_up_after`] allows, and no code
    /// shown to the user was still usable.
    GaveUp {
        /// How long requests had been failing.
        failing_for: Duration,
        /// The last failure.
        last: ClientError,
    },
    /// [`Driver::token_once`]: its one request got no usable answer.
    Failed(ClientError),
    /// [`Driver::token_once`]: LWA answered its one request with an OAuth error. Nothing
    /// was stored; a refresh token refused with `invalid_grant` was forgotten.
    Refused(Refusal),
    /// [`Driver::token_once`]: the session has nothing to do for this long (it does not
    /// wait).
    NotReady {
        /// How long the session would wait.
        wait: Duration,
    },
}

impl<E: fmt::Display> fmt::Display for DriverError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SignInRequired => f.write_str(
                "not signed in: no refresh token, and the session has no way to sign in by itself",
            ),
            Self::Stopped(r) => write!(f, "{r}"),
            Self::Store(e) => write!(f, "token store: {e}"),
            Self::Session(e) => write!(f, "session: {e}"),
            Self::GaveUp { failing_for, last } => write!(
                f,
                "gave up after {} s of failed requests with no usable code: {last}",
                failing_for.as_secs()
            ),
            Self::Failed(e) => write!(f, "{e}"),
            Self::Refused(r) => write!(f, "{r}"),
            Self::NotReady { wait } => {
                write!(f, "the session has nothing to do for {} s", wait.as_secs())
            }
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for DriverError<E> {}

/// What [`Driver::open`] takes from the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Restore {
    /// The refresh token and a still valid access token: a token that is not due for a
    /// refresh is handed out without a request.
    Tokens,
    /// The refresh token only: the first request refreshes.
    RefreshToken,
    /// Nothing: the session starts signed out (a new sign-in replaces the store).
    Nothing,
}

/// Runs a session. See the [module docs](self).
#[derive(Debug)]
pub struct Driver<'c, S> {
    store: S,
    /// Everything but the store, so that [`Driver::with_store`] moves it whole.
    state: State<'c>,
}

/// A driver's state besides its store.
#[derive(Debug)]
struct State<'c> {
    client: Client,
    session: Session<'c>,
    origin: StdInstant,
    unix_origin: SystemTime,
    buf: Vec<u8>,
    give_up_after: Option<Duration>,
    /// When the current run of failed requests began.
    failing_since: Option<StdInstant>,
    /// The last failed request's error.
    last_failure: Option<ClientError>,
    /// The last OAuth error answer (for [`Driver::token_once`]).
    last_refusal: Option<Refusal>,
    /// Until when the last code shown to the user can still be entered.
    code_usable_until: Option<StdInstant>,
    /// Requests sent so far.
    requests: u64,
}

fn since(origin: StdInstant) -> Instant {
    Instant::from_millis(u64::try_from(origin.elapsed().as_millis()).unwrap_or(u64::MAX))
}

fn random() -> u32 {
    let mut b = [0u8; 4];
    // On the impossible failure of the OS generator the retry delays lose their spread,
    // nothing else.
    let _ = getrandom::fill(&mut b);
    u32::from_le_bytes(b)
}

impl<'c> Driver<'c, SessionStore> {
    /// A driver for the session of `config` over the token store `store`, restoring what
    /// it holds for `config.client_id` as `restore` says (tokens of another client are left
    /// alone, as if the store were empty). Reading takes no lock; each write takes it.
    ///
    /// # Errors
    /// [`DriverError::Store`] if the store cannot be read, [`DriverError::Session`] if a
    /// stored token is longer than the session holds.
    ///
    /// ```
    /// use lwa_std::client::Client;
    /// use lwa_std::core::endpoint::Endpoint;
    /// use lwa_std::core::session::Config;
    /// use lwa_std::driver::{Driver, Restore};
    /// use lwa_std::store::{FileStore, StoredTokens};
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let file = FileStore::new(dir.path().join("tokens.json"));
    /// let in_an_hour = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + 3600;
    /// file.save(&StoredTokens {
    ///     client_id: "amzn1.application-oa2-client.abc".into(),
    ///     access_token: "Atza|stored".into(),
    ///     refresh_token: "Atzr|stored".into(),
    ///     token_type: "bearer".into(),
    ///     expires_at: in_an_hour,
    ///     origin: None,
    ///     ca_file: None,
    /// }).unwrap();
    /// // Nothing listens on port 9, and nothing needs to: the stored token is good.
    /// let client = Client::new(&Endpoint::parse_origin("http://127.0.0.1:9").unwrap()).unwrap();
    /// let config = Config::new("amzn1.application-oa2-client.abc");
    /// let mut driver = Driver::open(client, config, file, Restore::Tokens).unwrap();
    /// assert_eq!(driver.token(&mut |_| {}).unwrap().as_str(), "Atza|stored");
    /// ```
    pub fn open(
        client: Client,
        config: Config<'c>,
        store: FileStore,
        restore: Restore,
    ) -> Result<Self, DriverError<StoreError>> {
        Self::restored(
            client,
            config,
            SessionStore::new(store, config.client_id),
            restore,
        )
    }

    /// As [`open`](Self::open), but the store's lock is taken first and held until the
    /// driver is dropped, so that what is read, sent and written is one step for every
    /// other process using the store (two processes refreshing the same token at once
    /// send one request). For short runs: [`token_once`](Self::token_once).
    ///
    /// # Errors
    /// As [`open`](Self::open), and [`StoreError::LockTimeout`] when another process holds
    /// the lock for longer than the store's lock timeout.
    pub fn open_locked(
        client: Client,
        config: Config<'c>,
        store: FileStore,
        restore: Restore,
    ) -> Result<Self, DriverError<StoreError>> {
        let store = SessionStore::locked(store, config.client_id).map_err(DriverError::Store)?;
        Self::restored(client, config, store, restore)
    }

    /// As [`open`](Self::open), over a [`SessionStore`] made by hand: one that holds its
    /// lock ([`SessionStore::locked`]) or records a CA file with the tokens
    /// ([`SessionStore::with_ca_file`]). The tokens are recorded as issued by the client's
    /// endpoint unless the store names another issuer.
    ///
    /// # Errors
    /// As [`open`](Self::open).
    ///
    /// ```
    /// use lwa_std::client::Client;
    /// use lwa_std::core::endpoint::Endpoint;
    /// use lwa_std::core::session::Config;
    /// use lwa_std::driver::{Driver, Restore};
    /// use lwa_std::store::{FileStore, SessionStore};
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let file = FileStore::new(dir.path().join("tokens.json"));
    /// let store = SessionStore::new(file, "c").with_ca_file(Some("/etc/lwa/ca.pem".into()));
    /// let client = Client::new(&Endpoint::parse_origin("http://127.0.0.1:9").unwrap()).unwrap();
    /// let driver = Driver::open_with(client, Config::new("c"), store, Restore::Tokens).unwrap();
    /// assert_eq!(driver.store().issuer(), Some("http://127.0.0.1:9"));
    /// ```
    pub fn open_with(
        client: Client,
        config: Config<'c>,
        store: SessionStore,
        restore: Restore,
    ) -> Result<Self, DriverError<StoreError>> {
        Self::restored(client, config, store, restore)
    }

    fn restored(
        client: Client,
        config: Config<'c>,
        store: SessionStore,
        restore: Restore,
    ) -> Result<Self, DriverError<StoreError>> {
        let store = if store.issuer().is_none() {
            let origin = client.endpoint().to_string();
            store.issued_by(origin)
        } else {
            store
        };
        let stored = match restore {
            Restore::Nothing => None,
            Restore::Tokens | Restore::RefreshToken => store.load().map_err(DriverError::Store)?,
        }
        .filter(|s| s.client_id == config.client_id && !s.refresh_token.is_empty());
        let unix_origin = store.unix_origin();
        let mut driver = Self::new(client, Session::new(config), store);
        // One wall clock for the store's expiries and the driver's.
        driver.state.unix_origin = unix_origin;
        let Some(stored) = stored else {
            return Ok(driver);
        };
        let state = &mut driver.state;
        state
            .session
            .restore_refresh_token(&stored.refresh_token)
            .map_err(DriverError::Session)?;
        if restore == Restore::Tokens && !stored.access_token.is_empty() {
            // The stored Unix expiry on the session's clock; a token already expired is
            // not restored (the session refreshes).
            let left = UNIX_EPOCH
                .checked_add(Duration::from_secs(stored.expires_at))
                .and_then(|at| at.duration_since(state.unix_origin).ok())
                .filter(|left| !left.is_zero());
            if let Some(left) = left {
                // Whole milliseconds, rounded up: the session's clock has no finer ones, and
                // the expiry must convert back to the stored second.
                let ms = left.as_nanos().div_ceil(1_000_000);
                let at = since(state.origin)
                    .plus(Duration::from_millis(u64::try_from(ms).unwrap_or(u64::MAX)));
                state
                    .session
                    .restore_access_token(&stored.access_token, at)
                    .map_err(DriverError::Session)?;
            }
        }
        Ok(driver)
    }
}

impl<'c, S: TokenStore> Driver<'c, S> {
    /// A driver whose monotonic clock starts now, for a session made by hand. The store
    /// gets what the session asks to store: every new refresh token, and every new access
    /// token when the session's [`Config::keep_access_tokens`](lwa_core::session::Config::keep_access_tokens)
    /// is on.
    #[must_use]
    pub fn new(client: Client, session: Session<'c>, store: S) -> Self {
        Self {
            store,
            state: State {
                client,
                session,
                origin: StdInstant::now(),
                unix_origin: SystemTime::now(),
                buf: vec![0; BUFFER_LEN],
                give_up_after: None,
                failing_since: None,
                last_failure: None,
                last_refusal: None,
                code_usable_until: None,
                requests: 0,
            },
        }
    }

    /// The same driver over another store, made from this one: to wrap the store (in a
    /// check, a log) without giving up what [`Driver::open`] restored.
    #[must_use]
    pub fn with_store<T: TokenStore>(self, wrap: impl FnOnce(S) -> T) -> Driver<'c, T> {
        Driver {
            store: wrap(self.store),
            state: self.state,
        }
    }

    /// Bounds the retries: [`drive`](Self::drive) (and so [`token`](Self::token)) stops
    /// with [`DriverError::GaveUp`] once requests have failed for `limit` without an answer
    /// in between, unless a code shown to the user can still be entered (then it keeps
    /// polling until the code expires, and gives up if no new code can be had). Without a
    /// limit the session retries forever, as a device must.
    ///
    /// ```
    /// use std::time::Duration;
    /// use lwa_std::client::Client;
    /// use lwa_std::core::endpoint::Endpoint;
    /// use lwa_std::core::session::{Config, Session};
    /// use lwa_std::driver::{Driver, DriverError};
    /// use lwa_std::store::{FileStore, SessionStore};
    ///
    /// // Nothing listens on port 9: every request fails.
    /// let client = Client::new(&Endpoint::parse_origin("http://127.0.0.1:9").unwrap()).unwrap();
    /// let mut session = Session::new(Config::new("amzn1.application-oa2-client.abc"));
    /// session.restore_refresh_token("Atzr|r").unwrap();
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = SessionStore::new(
    ///     FileStore::new(dir.path().join("tokens.json")),
    ///     "amzn1.application-oa2-client.abc",
    /// );
    /// let mut driver = Driver::new(client, session, store).give_up_after(Duration::ZERO);
    /// assert!(matches!(driver.token(&mut |_| {}), Err(DriverError::GaveUp { .. })));
    /// ```
    #[must_use]
    pub fn give_up_after(mut self, limit: Duration) -> Self {
        self.state.give_up_after = Some(limit);
        self
    }

    /// The session's clock: milliseconds since the driver was made.
    #[must_use]
    pub fn now(&self) -> Instant {
        since(self.state.origin)
    }

    /// The wall-clock time of `at` on the session's clock.
    ///
    /// ```
    /// # use lwa_std::{client::Client, core::{endpoint::Endpoint, session::{Config, Session}}, driver::Driver, store::{FileStore, SessionStore}};
    /// # let client = Client::new(&Endpoint::parse_origin("http://127.0.0.1:9").unwrap()).unwrap();
    /// # let store = SessionStore::new(FileStore::new("unused.json"), "c");
    /// let driver = Driver::new(client, Session::new(Config::new("c")), store);
    /// let later = driver.wall_time(driver.now().plus(std::time::Duration::from_secs(60)));
    /// assert!(later > std::time::SystemTime::now());
    /// ```
    #[must_use]
    pub fn wall_time(&self, at: Instant) -> SystemTime {
        let origin = self.state.unix_origin;
        origin
            .checked_add(Duration::from_millis(at.as_millis()))
            .unwrap_or(origin)
    }

    /// When the session's access token expires, on the wall clock.
    #[must_use]
    pub fn access_expires_at(&self) -> Option<SystemTime> {
        self.state
            .session
            .access_expires_at()
            .map(|at| self.wall_time(at))
    }

    /// The session, to look at its state.
    #[must_use]
    pub fn session(&self) -> &Session<'c> {
        &self.state.session
    }

    /// The session, to restore tokens or hand in an authorization code.
    pub fn session_mut(&mut self) -> &mut Session<'c> {
        &mut self.state.session
    }

    /// The store.
    #[must_use]
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Requests sent so far.
    #[must_use]
    pub fn requests(&self) -> u64 {
        self.state.requests
    }

    /// Why the last request failed, if it did and nothing has been answered since: what a
    /// [`Next::Wait`] after a failure is waiting to retry.
    #[must_use]
    pub fn last_failure(&self) -> Option<&ClientError> {
        self.state.last_failure.as_ref()
    }

    /// The access token the session hands out now without sending anything, if it does
    /// (it is valid and not due for a refresh). Nothing is sent, stored or waited for.
    #[must_use]
    pub fn ready_token(&mut self) -> Option<Zeroizing<String>> {
        let now = self.now();
        match self.state.session.poll(now) {
            Action::Ready(token) => Some(Zeroizing::new(token.expose().to_owned())),
            _ => None,
        }
    }

    /// Carries out the session's requests and stores until it needs the application, and
    /// says what for: a token to use, a time to wait (then call again; after a failed
    /// request [`last_failure`](Self::last_failure) says why), a code to show, a sign-in, a
    /// stop. Failed requests are handed to the session, which schedules their retry.
    ///
    /// # Errors
    /// [`DriverError::Store`] when the store fails (call again to retry),
    /// [`DriverError::GaveUp`] past [`give_up_after`](Self::give_up_after),
    /// [`DriverError::Session`] on a driver bug.
    ///
    /// ```
    /// use lwa_std::client::Client;
    /// use lwa_std::core::endpoint::Endpoint;
    /// use lwa_std::core::session::{Config, Session};
    /// use lwa_std::driver::{Driver, Next};
    /// use lwa_std::store::{FileStore, SessionStore};
    ///
    /// // Nothing listens on port 9: the refresh fails, is retried at once (the first of the
    /// // reference SDK's retry delays is 0 s), fails again, and the session waits to retry.
    /// let client = Client::new(&Endpoint::parse_origin("http://127.0.0.1:9").unwrap()).unwrap();
    /// let mut session = Session::new(Config::new("c"));
    /// session.restore_refresh_token("Atzr|r").unwrap();
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = SessionStore::new(FileStore::new(dir.path().join("tokens.json")), "c");
    /// let mut driver = Driver::new(client, session, store);
    /// assert!(matches!(driver.drive().unwrap(), Next::Wait(_)));
    /// assert!(driver.last_failure().is_some());
    /// assert_eq!(driver.requests(), 2);
    /// ```
    pub fn drive(&mut self) -> Result<Next<'_>, DriverError<S::Error>> {
        self.drive_limited(false)
    }

    /// Carries out the session's actions until it hands out a valid access token, retrying
    /// failed requests as the session says and sleeping through the waits: a loop over
    /// [`drive`](Self::drive). `seen` is called with every other [`Next`]: a code to show
    /// the user, each wait (once, before it is slept).
    ///
    /// # Errors
    /// [`DriverError::SignInRequired`], [`DriverError::Stopped`], and those of
    /// [`drive`](Self::drive).
    pub fn token(
        &mut self,
        seen: &mut dyn FnMut(&Next<'_>),
    ) -> Result<Zeroizing<String>, DriverError<S::Error>> {
        loop {
            let next = self.drive()?;
            if let Some(token) = settle(&next)? {
                return Ok(token);
            }
            seen(&next);
            if let Next::Wait(until) = next {
                let now = self.now();
                std::thread::sleep(until.since(now));
            }
        }
    }

    /// Carries out the session's actions with at most one request: the session's token
    /// when it is good (no request), else one refresh (or authorization-code exchange)
    /// whose failure is reported, not retried. What the session asks to store or delete is
    /// carried out, as by every driver: the tokens of a good answer are stored, and a
    /// refresh token LWA refused with `invalid_grant` (revoked, the device removed) is
    /// forgotten, the store's copy too; after any other refusal nothing is stored or
    /// deleted. `seen` is called as for [`token`](Self::token).
    ///
    /// # Errors
    /// [`DriverError::Failed`] (no usable answer), [`DriverError::Refused`] (an OAuth
    /// error), [`DriverError::SignInRequired`], [`DriverError::Stopped`],
    /// [`DriverError::Store`], or [`DriverError::NotReady`] when the session would wait.
    ///
    /// ```
    /// use lwa_std::client::Client;
    /// use lwa_std::core::endpoint::Endpoint;
    /// use lwa_std::core::session::Config;
    /// use lwa_std::driver::{Driver, DriverError, Restore};
    /// use lwa_std::store::FileStore;
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let client = Client::new(&Endpoint::parse_origin("http://127.0.0.1:9").unwrap()).unwrap();
    /// let config = Config::new("amzn1.application-oa2-client.abc");
    /// let file = FileStore::new(dir.path().join("tokens.json"));
    /// let mut driver = Driver::open(client, config, file, Restore::Tokens).unwrap();
    /// assert!(matches!(driver.token_once(&mut |_| {}), Err(DriverError::SignInRequired)));
    /// driver.session_mut().restore_refresh_token("Atzr|r").unwrap();
    /// // Nothing listens on port 9: one attempt, then the failure.
    /// assert!(matches!(driver.token_once(&mut |_| {}), Err(DriverError::Failed(_))));
    /// ```
    pub fn token_once(
        &mut self,
        seen: &mut dyn FnMut(&Next<'_>),
    ) -> Result<Zeroizing<String>, DriverError<S::Error>> {
        self.state.last_refusal = None;
        self.state.last_failure = None;
        let next = self.drive_limited(true)?;
        if let Some(token) = settle(&next)? {
            return Ok(token);
        }
        seen(&next);
        match next {
            Next::Wait(until) => Err(DriverError::NotReady {
                wait: until.since(since(self.state.origin)),
            }),
            // A code to show: one attempt does not wait for the person.
            _ => Err(DriverError::NotReady {
                wait: Duration::ZERO,
            }),
        }
    }

    /// [`drive`](Self::drive); with `once`, at most one request, and its failure or refusal
    /// is the answer, after what the session asks to store or delete is carried out (a
    /// refresh token LWA refused with `invalid_grant` is dead: the session forgets it, and
    /// so does the store).
    fn drive_limited(&mut self, once: bool) -> Result<Next<'_>, DriverError<S::Error>> {
        let mut sent = false;
        let halt = loop {
            let give_up = self.state.should_give_up();
            let now = self.now();
            let state = &mut self.state;
            let action = state.session.poll(now);
            if once
                && sent
                && !matches!(
                    action,
                    Action::Ready(_) | Action::Persist(_) | Action::Forget
                )
            {
                // After the one request: a token, storing or forgetting, or the failure.
                if let Some(refusal) = state.last_refusal.take() {
                    return Err(DriverError::Refused(refusal));
                }
                if let Some(failure) = state.last_failure.take() {
                    return Err(DriverError::Failed(failure));
                }
                if let Action::Send(_) = action {
                    return Err(DriverError::NotReady {
                        wait: Duration::ZERO,
                    });
                }
            }
            // A valid token is still handed out; only another attempt is given up.
            if matches!(action, Action::Send(_) | Action::Wait(_))
                && let Some(failing_for) = give_up
                && let Some(last) = state.last_failure.take()
            {
                return Err(DriverError::GaveUp { failing_for, last });
            }
            if let Some(halt) = action.halt() {
                if let Action::ShowCode { expires_at, .. } = action {
                    state.code_usable_until = StdInstant::now().checked_add(expires_at.since(now));
                }
                break halt;
            }
            match action {
                Action::Send(request) => {
                    sent = true;
                    state.requests += 1;
                    let result = state.client.execute(&request, &mut state.buf);
                    let arrived = since(state.origin);
                    let result = match result {
                        Ok(outcome) => {
                            state.failing_since = None;
                            state.last_failure = None;
                            state.last_refusal = match &outcome {
                                Outcome::OAuthError { status, error, .. } => Some(Refusal {
                                    status: *status,
                                    code: error.code.as_str().to_owned(),
                                    description: error
                                        .description
                                        .filter(|d| !d.is_empty())
                                        .map(str::to_owned),
                                }),
                                _ => None,
                            };
                            Ok(outcome)
                        }
                        Err(e) => {
                            let failure = e.to_failure();
                            state.failing_since.get_or_insert_with(StdInstant::now);
                            state.last_failure = Some(e);
                            Err(failure)
                        }
                    };
                    state
                        .session
                        .handle_response(now, arrived, result, random())
                        .map_err(DriverError::Session)?;
                }
                Action::Persist(tokens) => {
                    let result = self.store.store(&tokens);
                    state.finish_store(result)?;
                }
                Action::Forget => {
                    let result = self.store.forget();
                    state.finish_store(result)?;
                }
                // Stopped at above.
                Action::Ready(_)
                | Action::Wait(_)
                | Action::ShowCode { .. }
                | Action::SignIn
                | Action::Stopped(_) => {}
            }
        };
        let now = self.now();
        Ok(self.state.session.answer(halt, now))
    }
}

/// The token of a [`Next::Ready`], the error of a sign-in or stop, `None` for the rest.
fn settle<E>(next: &Next<'_>) -> Result<Option<Zeroizing<String>>, DriverError<E>> {
    match next {
        Next::Ready(token) => Ok(Some(Zeroizing::new(token.expose().to_owned()))),
        Next::SignIn => Err(DriverError::SignInRequired),
        Next::Stopped(reason) => Err(DriverError::Stopped(*reason)),
        Next::Wait(_) | Next::ShowCode { .. } => Ok(None),
    }
}

impl State<'_> {
    /// Whether to stop retrying: failing for longer than the limit, no usable code.
    fn should_give_up(&self) -> Option<Duration> {
        let limit = self.give_up_after?;
        let failing_for = self.failing_since?.elapsed();
        let code_usable = self
            .code_usable_until
            .is_some_and(|until| StdInstant::now() < until);
        (failing_for >= limit && !code_usable).then_some(failing_for)
    }

    fn finish_store<E>(&mut self, result: Result<(), E>) -> Result<(), DriverError<E>> {
        let now = since(self.origin);
        let ok = result.is_ok();
        self.session
            .handle_persisted(now, ok, random())
            .map_err(DriverError::Session)?;
        result.map_err(DriverError::Store)
    }
}
