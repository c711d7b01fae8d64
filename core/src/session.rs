//! The token lifecycle: a state machine that keeps a device signed in for years.
//!
//! A device does not want "a token request"; it wants a valid access token whenever it asks,
//! and to be told when a person must act. [`Session`] decides what to do next; a transport
//! (or a test) carries out what it says. Like the rest of lwa-core it has no I/O, no clock
//! and no randomness of its own: the caller passes `now` (monotonic milliseconds, see
//! [`Instant`]) and a random value wherever a retry delay is drawn.
//!
//! # Call order
//!
//! ```text
//! loop {
//!     match session.poll(now) {
//!         Action::Ready(token)     => use the token; come back at session.poll_timeout()
//!         Action::Send(request)    => run the exchange; session.handle_response(sent_at, now, result, random)
//!         Action::Persist(tokens)  => store the tokens; session.handle_persisted(now, ok, random)
//!         Action::Forget           => delete the stored refresh token; session.handle_persisted(now, ok, random)
//!         Action::ShowCode { .. }  => display the code (code-based linking); poll again
//!         Action::Wait(until)      => sleep until then (or until something else happens)
//!         Action::SignIn           => a person must sign in: session.authorization_code(...)
//!         Action::Stopped(reason)  => the configuration is broken; a person must fix it
//!     }
//! }
//! ```
//!
//! # Rules
//!
//! - **Refresh ahead**: a refresh is due [`Config::refresh_margin`] (default 10 minutes)
//!   before expiry, or at half the lifetime for short-lived tokens; never sooner than
//!   [`MIN_REFRESH_INTERVAL`] after the previous token arrived, so a server that hands out
//!   already-expired tokens cannot cause a request storm.
//! - **Never an expired token**: expiry counts from the moment the request was *sent*
//!   (`sent_at`), so a slow answer shortens the token's life rather than lengthening it, and
//!   [`Action::Ready`] is only returned while `now` is before that expiry.
//! - **Retries**: network, TLS and timeout failures, malformed answers, 429, 5xx and unknown
//!   error codes are retried after the reference device SDK's delays 0, 1, 2, 4, 10, 30 and
//!   60 seconds (then 60 s), each drawn uniformly from `[t/1.5, 1.5t]` with the caller's
//!   random value. `Retry-After` is honoured (up to [`MAX_RETRY_AFTER`]). A success resets
//!   the delays, so the session recovers as soon as the server answers again.
//! - **Persistence first**: after a token response with a new refresh token the session asks
//!   to store it ([`Action::Persist`]) and hands out the new access token only after
//!   [`Session::handle_persisted`] confirms the store. A failed store is retried with the
//!   same delays; nothing is lost silently. An unchanged refresh token is not stored again
//!   (flash wears).
//! - **`invalid_grant` on a refresh**: the refresh token is dead (the user removed the
//!   device): the session asks to delete it ([`Action::Forget`]) and then to sign in again.
//! - **Terminal errors** (`invalid_client`, `unauthorized_client`, `invalid_request`,
//!   `unsupported_grant_type`, `invalid_scope`, `InvalidValue`) stop the session with a
//!   [`StopReason`]; no retry.
//! - **Code-based linking** (when [`Config::linking`] is set): request a code pair, show the
//!   code, poll at the server's `interval` (5 seconds longer after each `slow_down`, RFC
//!   8628), and request a new code pair when the old one expires or is refused.
//!
//! # Example
//!
//! ```
//! use lwa_core::session::{Action, Config, Instant, Session};
//! use lwa_core::exchange::Outcome;
//! use lwa_core::json::TokenResponse;
//! use lwa_core::secret::Secret;
//!
//! let mut session = Session::new(Config::new("amzn1.application-oa2-client.abc"));
//! session.restore_refresh_token("Atzr|stored").unwrap();
//!
//! let now = Instant::from_millis(1_000);
//! let Action::Send(request) = session.poll(now) else { panic!() };
//! assert_eq!(request.path(), "/auth/o2/token");
//! // ... run the exchange; here is its outcome:
//! let outcome = Outcome::Token(TokenResponse {
//!     access_token: Secret::new("Atza|fresh"),
//!     refresh_token: Some(Secret::new("Atzr|rotated")),
//!     token_type: "bearer",
//!     expires_in: Some(3600),
//! });
//! session.handle_response(now, now, Ok(outcome), 0).unwrap();
//!
//! // The new refresh token is stored before the access token is handed out.
//! let Action::Persist(tokens) = session.poll(now) else { panic!() };
//! assert_eq!(tokens.refresh_token.expose(), "Atzr|rotated");
//! session.handle_persisted(now, true, 0).unwrap();
//!
//! let Action::Ready(token) = session.poll(now) else { panic!() };
//! assert_eq!(token.expose(), "Atza|fresh");
//! // Next refresh 10 minutes before expiry.
//! assert_eq!(session.poll_timeout(now), Some(Instant::from_millis(1_000 + 3_000_000)));
//! ```

use core::fmt;
use core::time::Duration;

use heapless::String;

use crate::error::{CapacityError, EmitError, ExchangeError};
use crate::exchange::Outcome;
use crate::json::{ErrorClass, ErrorCode};
use crate::request::{MAX_TOKEN_LEN, Request};
use crate::secret::{Secret, SecretBuf};

/// The reference SDK's retry delays in seconds; the last one repeats.
pub const RETRY_SCHEDULE_SECS: [u64; 7] = [0, 1, 2, 4, 10, 30, 60];

/// Default [`Config::refresh_margin`]: refresh 10 minutes before expiry.
pub const DEFAULT_REFRESH_MARGIN: Duration = Duration::from_secs(10 * 60);

/// A refresh is never due sooner than this after the previous token arrived.
pub const MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(60);

/// Longest `Retry-After` honoured; longer ones are cut to this, so a broken proxy cannot
/// silence a device for days.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60 * 60);

/// Lifetime assumed when a token response has no `expires_in` (LWA's documented 3600 s).
pub const DEFAULT_EXPIRES_IN: u32 = 3600;

/// Polling interval when a code pair has no `interval`.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(5);

/// Longest polling interval `slow_down` can lead to.
pub const MAX_POLL_INTERVAL: Duration = Duration::from_secs(5 * 60);

/// Capacity for a code pair's `device_code`.
pub const MAX_DEVICE_CODE_LEN: usize = 256;
/// Capacity for a code pair's `user_code`.
pub const MAX_USER_CODE_LEN: usize = 32;
/// Capacity for a code pair's `verification_uri`.
pub const MAX_VERIFICATION_URI_LEN: usize = 256;

/// A point in monotonic time, in milliseconds from any fixed origin (boot, say). The session
/// only ever compares and adds; the origin does not matter, but it must not jump.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Instant(u64);

impl Instant {
    /// The instant `ms` milliseconds after the origin.
    ///
    /// ```
    /// assert_eq!(lwa_core::session::Instant::from_millis(5).as_millis(), 5);
    /// ```
    #[must_use]
    pub const fn from_millis(ms: u64) -> Self {
        Self(ms)
    }

    /// Milliseconds since the origin.
    ///
    /// ```
    /// assert_eq!(lwa_core::session::Instant::from_millis(5).as_millis(), 5);
    /// ```
    #[must_use]
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// `self + d`, saturating.
    ///
    /// ```
    /// use core::time::Duration;
    /// use lwa_core::session::Instant;
    /// assert_eq!(Instant::from_millis(5).plus(Duration::from_secs(1)), Instant::from_millis(1005));
    /// ```
    #[must_use]
    pub fn plus(self, d: Duration) -> Self {
        Self(
            self.0
                .saturating_add(u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        )
    }

    /// Time from `earlier` to `self`, zero if `earlier` is later.
    ///
    /// ```
    /// use core::time::Duration;
    /// use lwa_core::session::Instant;
    /// assert_eq!(Instant::from_millis(1500).since(Instant::from_millis(500)), Duration::from_secs(1));
    /// ```
    #[must_use]
    pub const fn since(self, earlier: Self) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}

/// Code-based linking settings: which product and device the code pair is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Linking<'a> {
    /// The AVS product ID.
    pub product_id: &'a str,
    /// The device serial number (DSN).
    pub device_serial_number: &'a str,
}

/// What a session needs to know up front.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config<'a> {
    /// The product's client ID.
    pub client_id: &'a str,
    /// The client secret, for clients that have one.
    pub client_secret: Option<Secret<'a>>,
    /// Code-based linking: when set, the session signs in by itself (showing a code);
    /// otherwise it asks for an authorization code ([`Action::SignIn`]).
    pub linking: Option<Linking<'a>>,
    /// How long before expiry to refresh (default 10 minutes).
    pub refresh_margin: Duration,
    /// Whether access tokens are kept in storage as well as refresh tokens (default off):
    /// then every new access token is asked to be stored ([`Action::Persist`] with
    /// [`Tokens::access_token`]), so that a restart within its lifetime sends no request.
    /// Turn it on only when the [`Instant`]s a driver passes are wall time (an expiry on a
    /// clock that restarts at boot means nothing after a reboot); a host's driver, whose
    /// clock converts to Unix time, does. Off, only a new refresh token is stored and
    /// [`Tokens::access_token`] is `None`. A store of an access token alone that fails is
    /// not retried and does not hold the token back: the stored refresh token is still good.
    pub keep_access_tokens: bool,
}

impl<'a> Config<'a> {
    /// A configuration with no secret, no linking and the default margin.
    ///
    /// ```
    /// let c = lwa_core::session::Config::new("amzn1.application-oa2-client.abc");
    /// assert_eq!(c.refresh_margin.as_secs(), 600);
    /// ```
    #[must_use]
    pub const fn new(client_id: &'a str) -> Self {
        Self {
            client_id,
            client_secret: None,
            linking: None,
            refresh_margin: DEFAULT_REFRESH_MARGIN,
            keep_access_tokens: false,
        }
    }
}

/// Why a session stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum StopReason {
    /// LWA refused the client configuration (`invalid_client`, `unauthorized_client`,
    /// `invalid_request`, `unsupported_grant_type`, `invalid_scope`, `InvalidValue`).
    Refused {
        /// The OAuth error code.
        code: ErrorCode<'static>,
        /// The HTTP status it came with.
        status: u16,
    },
    /// The request could not even be written (an empty or overlong client ID, say).
    InvalidRequest(EmitError),
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Refused { code, status } => write!(
                f,
                "LWA refused the client configuration ({code}, HTTP {status}): check the client ID, secret and product setup"
            ),
            Self::InvalidRequest(e) => write!(f, "the request cannot be written: {e}"),
        }
    }
}

impl core::error::Error for StopReason {}

/// What to do next. Borrows the session: finish with it before the next `handle_*` call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Action<'s> {
    /// A valid access token.
    Ready(Secret<'s>),
    /// Send this request, then report with [`Session::handle_response`].
    Send(Request<'s>),
    /// Store these tokens durably (at least the refresh token), then report with
    /// [`Session::handle_persisted`].
    Persist(Tokens<'s>),
    /// Delete the stored refresh token, then report with [`Session::handle_persisted`].
    Forget,
    /// Show the user this code and where to enter it (code-based linking). Returned once per
    /// code pair; the next poll carries on.
    ShowCode {
        /// The code to type in.
        user_code: &'s str,
        /// Where to type it.
        verification_uri: &'s str,
        /// When the code stops working (a new one will be shown then).
        expires_at: Instant,
    },
    /// Nothing to do before this instant.
    Wait(Instant),
    /// A person must sign in: pass an authorization code to
    /// [`Session::authorization_code`].
    SignIn,
    /// The configuration is broken; nothing will be sent again.
    Stopped(StopReason),
}

impl Action<'_> {
    /// What this action asks of the application, if it asks anything of it: a driver carries
    /// out [`Send`](Self::Send), [`Persist`](Self::Persist) and [`Forget`](Self::Forget)
    /// itself and stops its loop on the rest (then [`Session::answer`] gives the application
    /// its [`Next`]). Without the action's borrow of the session, so that the loop can end.
    ///
    /// ```
    /// use lwa_core::session::{Action, Halt, Instant};
    /// assert_eq!(Action::Forget.halt(), None);
    /// assert_eq!(Action::SignIn.halt(), Some(Halt::SignIn));
    /// ```
    #[must_use]
    pub fn halt(&self) -> Option<Halt> {
        match self {
            Self::Ready(_) => Some(Halt::Ready),
            Self::Wait(t) => Some(Halt::Wait(*t)),
            Self::ShowCode { .. } => Some(Halt::ShowCode),
            Self::SignIn => Some(Halt::SignIn),
            Self::Stopped(r) => Some(Halt::Stopped(*r)),
            Self::Send(_) | Self::Persist(_) | Self::Forget => None,
        }
    }
}

/// An [`Action`] that needs the application, without its borrow of the session: what a
/// driver's loop stops at ([`Action::halt`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Halt {
    /// [`Action::Ready`].
    Ready,
    /// [`Action::Wait`].
    Wait(Instant),
    /// [`Action::ShowCode`].
    ShowCode,
    /// [`Action::SignIn`].
    SignIn,
    /// [`Action::Stopped`].
    Stopped(StopReason),
}

/// What a driver hands back to the application: everything that needs the application's
/// hands (a token to use, time to wait, a code to show, a person, a fix). lwa-std's and
/// lwa-embedded's drivers both answer with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Next<'s> {
    /// A valid access token.
    Ready(Secret<'s>),
    /// Nothing to do before this instant; call the driver again then.
    Wait(Instant),
    /// Show the user this code and where to enter it; call the driver again.
    ShowCode {
        /// The code.
        user_code: &'s str,
        /// Where to enter it.
        verification_uri: &'s str,
        /// When it expires (a new one is shown then).
        expires_at: Instant,
    },
    /// A person must sign in with an authorization code
    /// ([`Session::authorization_code`]).
    SignIn,
    /// LWA refused the configuration; nothing more will be sent.
    Stopped(StopReason),
}

/// What [`Action::Persist`] asks to store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tokens<'s> {
    /// The refresh token: the one thing a device must keep across restarts.
    pub refresh_token: Secret<'s>,
    /// The access token that came with it and when it expires. Worth keeping on a host, so
    /// that a restarted program need not refresh at once (see
    /// [`Session::restore_access_token`]); a device may drop it.
    pub access_token: Option<(Secret<'s>, Instant)>,
}

/// Durable storage for a session's tokens: a file on a host, flash on a device. The session
/// never calls it (it does no I/O); a driver does, on [`Action::Persist`] and
/// [`Action::Forget`], and reports the result with [`Session::handle_persisted`].
pub trait TokenStore {
    /// Why a store or delete failed.
    type Error;

    /// Replaces the stored tokens. On error the previously stored ones must stay intact.
    ///
    /// # Errors
    /// Whatever the storage reports.
    fn store(&mut self, tokens: &Tokens<'_>) -> Result<(), Self::Error>;

    /// Deletes the stored tokens.
    ///
    /// # Errors
    /// Whatever the storage reports.
    fn forget(&mut self) -> Result<(), Self::Error>;
}

/// A request that failed without an answer LWA sent on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Failure {
    /// No answer: connection refused or reset, DNS, TLS, timeout.
    Transport,
    /// A broken answer or an HTTP error status without an OAuth body.
    Exchange(ExchangeError),
    /// The request could not be written (a configuration error: the session stops).
    Request(EmitError),
}

/// A call that does not fit the session's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum SessionError {
    /// `handle_response` without a request in flight.
    NothingInFlight,
    /// `handle_persisted` without a store or delete asked for.
    NothingToPersist,
    /// A token or code is longer than the session can hold.
    TooLong(CapacityError),
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NothingInFlight => f.write_str("no request in flight"),
            Self::NothingToPersist => f.write_str("no store or delete was asked for"),
            Self::TooLong(e) => write!(f, "token too long: {e}"),
        }
    }
}

impl core::error::Error for SessionError {}

/// The request a response answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InFlight {
    Refresh,
    CodePair,
    Poll,
    AuthorizationCode,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Storage {
    Clean,
    /// A new refresh token (and, when kept, the access token) to store; retried until it is.
    Persist,
    /// A new access token alone to store (the refresh token did not change): not retried.
    PersistAccess,
    Forget,
}

#[derive(Debug)]
struct Access {
    token: SecretBuf<MAX_TOKEN_LEN>,
    expires_at: Instant,
    refresh_at: Instant,
}

#[derive(Debug)]
struct CodePair {
    device_code: SecretBuf<MAX_DEVICE_CODE_LEN>,
    user_code: String<MAX_USER_CODE_LEN>,
    verification_uri: String<MAX_VERIFICATION_URI_LEN>,
    expires_at: Instant,
    interval: Duration,
    next_poll: Instant,
    shown: bool,
}

// One session lives per device for its whole life; without `alloc` there is nowhere to box
// the code pair into, and the session's size is fixed either way.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
enum Phase {
    /// Signed in, or about to find out that a sign-in is needed.
    Idle,
    /// Code-based linking; `None` until a code pair arrives.
    Linking(Option<CodePair>),
    /// Waiting for the application to pass an authorization code.
    AwaitingCode,
    Stopped(StopReason),
}

/// Consecutive failures and when the next attempt may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Backoff {
    failures: u32,
    until: Option<Instant>,
}

impl Backoff {
    fn waiting(&self, now: Instant) -> Option<Instant> {
        self.until.filter(|&t| now < t)
    }

    /// Records a failure at `now` and draws the next delay.
    fn fail(&mut self, now: Instant, retry_after: Option<u32>, random: u32) {
        let index = usize::try_from(self.failures).unwrap_or(usize::MAX);
        let base = RETRY_SCHEDULE_SECS
            .get(index)
            .or(RETRY_SCHEDULE_SECS.last())
            .copied()
            .unwrap_or(60);
        self.failures = self.failures.saturating_add(1);
        let mut delay = jitter(Duration::from_secs(base), random);
        if let Some(secs) = retry_after {
            delay = delay.max(Duration::from_secs(u64::from(secs)).min(MAX_RETRY_AFTER));
        }
        self.until = Some(now.plus(delay));
    }

    fn reset(&mut self) {
        *self = Self::default();
    }
}

/// A delay drawn uniformly from `[t/1.5, 1.5t]` (millisecond resolution).
fn jitter(t: Duration, random: u32) -> Duration {
    let t = u64::try_from(t.as_millis()).unwrap_or(u64::MAX);
    let low = t.saturating_mul(2) / 3;
    let high = t.saturating_mul(3) / 2;
    let span = high - low + 1;
    Duration::from_millis(low + u64::from(random) % span)
}

/// Whether `token` fits a token buffer.
fn fits(token: &str) -> Result<(), CapacityError> {
    if token.len() <= MAX_TOKEN_LEN {
        Ok(())
    } else {
        Err(CapacityError {
            required: token.len(),
            capacity: MAX_TOKEN_LEN,
        })
    }
}

/// Writes `token` (checked with [`fits`]) into `slot`'s buffer, reusing it when there is one.
fn set_in_place(slot: &mut Option<SecretBuf<MAX_TOKEN_LEN>>, token: &str) {
    // Cannot fail after `fits`; were it to, the slot keeps its old value.
    let _ = slot.get_or_insert_with(SecretBuf::new).set(token);
}

/// The lifecycle state machine. See the [module docs](self).
#[derive(Debug)]
pub struct Session<'c> {
    config: Config<'c>,
    access: Option<Access>,
    refresh: Option<SecretBuf<MAX_TOKEN_LEN>>,
    storage: Storage,
    store_backoff: Backoff,
    phase: Phase,
    in_flight: Option<InFlight>,
    backoff: Backoff,
    /// The authorization code handed in by the application, until it is sent.
    code: Option<AuthorizationCode<'c>>,
}

/// An authorization code to trade (from a browser or companion-app sign-in).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthorizationCode<'a> {
    /// The code.
    pub code: Secret<'a>,
    /// The redirect URI of the authorization request.
    pub redirect_uri: &'a str,
    /// The PKCE code verifier, for clients without a secret.
    pub code_verifier: Option<Secret<'a>>,
}

impl<'c> Session<'c> {
    /// A session with no tokens yet.
    ///
    /// ```
    /// use lwa_core::session::{Action, Config, Instant, Session};
    /// let mut s = Session::new(Config::new("client"));
    /// assert_eq!(s.poll(Instant::from_millis(0)), Action::SignIn);
    /// ```
    #[must_use]
    pub fn new(config: Config<'c>) -> Self {
        Self {
            config,
            access: None,
            refresh: None,
            storage: Storage::Clean,
            store_backoff: Backoff::default(),
            phase: Phase::Idle,
            in_flight: None,
            backoff: Backoff::default(),
            code: None,
        }
    }

    /// Starts over with `config`, as [`Session::new`] would, forgetting every token and the
    /// linking state (the buffers are wiped). For a sign-out or a restart of a session that
    /// lives in a `static`: assigning `Session::new(..)` would build a second 4.9 KiB session
    /// on the stack first.
    ///
    /// ```
    /// use lwa_core::session::{Action, Config, Instant, Session};
    /// let mut s = Session::new(Config::new("client"));
    /// s.restore_refresh_token("Atzr|x").unwrap();
    /// s.reset(Config::new("client"));
    /// assert!(s.refresh_token().is_none());
    /// assert_eq!(s.poll(Instant::from_millis(0)), Action::SignIn);
    /// ```
    pub fn reset(&mut self, config: Config<'c>) {
        self.config = config;
        self.access = None;
        self.refresh = None;
        self.storage = Storage::Clean;
        self.store_backoff = Backoff::default();
        self.phase = Phase::Idle;
        self.in_flight = None;
        self.backoff = Backoff::default();
        self.code = None;
    }

    /// Keeps `token` (checked with [`fits`]) as the access token, in place.
    fn set_access(&mut self, token: &str, expires_at: Instant, refresh_at: Instant) {
        let access = self.access.get_or_insert_with(|| Access {
            token: SecretBuf::new(),
            expires_at,
            refresh_at,
        });
        let _ = access.token.set(token);
        access.expires_at = expires_at;
        access.refresh_at = refresh_at;
    }

    /// Takes the refresh token loaded from storage at start-up (no store is asked for).
    ///
    /// # Errors
    /// [`SessionError::TooLong`] for a token over [`MAX_TOKEN_LEN`] bytes.
    ///
    /// ```
    /// use lwa_core::session::{Action, Config, Instant, Session};
    /// let mut s = Session::new(Config::new("client"));
    /// s.restore_refresh_token("Atzr|x").unwrap();
    /// assert!(matches!(s.poll(Instant::from_millis(0)), Action::Send(_)));
    /// ```
    pub fn restore_refresh_token(&mut self, token: &str) -> Result<(), SessionError> {
        fits(token).map_err(SessionError::TooLong)?;
        set_in_place(&mut self.refresh, token);
        if !matches!(self.phase, Phase::Stopped(_)) {
            self.phase = Phase::Idle;
        }
        Ok(())
    }

    /// Takes an access token loaded from storage with the instant it expires (convert a
    /// stored wall-clock expiry to monotonic time first). It is used until the refresh margin
    /// is reached, so a restarted program need not refresh at once.
    ///
    /// # Errors
    /// [`SessionError::TooLong`] for a token over [`MAX_TOKEN_LEN`] bytes.
    ///
    /// ```
    /// use lwa_core::session::{Action, Config, Instant, Session};
    /// let mut s = Session::new(Config::new("client"));
    /// s.restore_refresh_token("Atzr|x").unwrap();
    /// s.restore_access_token("Atza|y", Instant::from_millis(3_600_000)).unwrap();
    /// assert!(matches!(s.poll(Instant::from_millis(0)), Action::Ready(t) if t.expose() == "Atza|y"));
    /// ```
    pub fn restore_access_token(
        &mut self,
        token: &str,
        expires_at: Instant,
    ) -> Result<(), SessionError> {
        fits(token).map_err(SessionError::TooLong)?;
        let margin = self.config.refresh_margin;
        let refresh_at = Instant(expires_at.0.saturating_sub(duration_ms(margin)));
        self.set_access(token, expires_at, refresh_at);
        Ok(())
    }

    /// Hands in an authorization code after [`Action::SignIn`]; the next poll sends it.
    ///
    /// ```
    /// use lwa_core::secret::Secret;
    /// use lwa_core::session::{Action, AuthorizationCode, Config, Instant, Session};
    /// let mut s = Session::new(Config::new("client"));
    /// assert_eq!(s.poll(Instant::from_millis(0)), Action::SignIn);
    /// s.authorization_code(AuthorizationCode {
    ///     code: Secret::new("ANdNAVhyhqirUelHGEHA"),
    ///     redirect_uri: "https://example.com/cb",
    ///     code_verifier: None,
    /// });
    /// assert!(matches!(s.poll(Instant::from_millis(0)), Action::Send(r) if r.path() == "/auth/o2/token"));
    /// ```
    pub fn authorization_code(&mut self, code: AuthorizationCode<'c>) {
        if matches!(self.phase, Phase::Stopped(_)) {
            return;
        }
        self.code = Some(code);
        self.backoff.reset();
    }

    /// A valid access token at `now`, without changing anything.
    ///
    /// ```
    /// use lwa_core::session::{Config, Instant, Session};
    /// let s = Session::new(Config::new("client"));
    /// assert!(s.access_token(Instant::from_millis(0)).is_none());
    /// ```
    #[must_use]
    pub fn access_token(&self, now: Instant) -> Option<Secret<'_>> {
        if self.storage != Storage::Clean {
            return None;
        }
        self.access
            .as_ref()
            .filter(|a| now < a.expires_at)
            .map(|a| a.token.as_secret())
    }

    /// When the current access token expires, if there is one.
    ///
    /// ```
    /// use lwa_core::session::{Config, Instant, Session};
    /// let mut s = Session::new(Config::new("client"));
    /// s.restore_access_token("Atza|y", Instant::from_millis(9)).unwrap();
    /// assert_eq!(s.access_expires_at(), Some(Instant::from_millis(9)));
    /// ```
    #[must_use]
    pub fn access_expires_at(&self) -> Option<Instant> {
        self.access.as_ref().map(|a| a.expires_at)
    }

    /// The refresh token the session holds (the newest it received), if any.
    ///
    /// ```
    /// use lwa_core::session::{Config, Session};
    /// let mut s = Session::new(Config::new("client"));
    /// s.restore_refresh_token("Atzr|x").unwrap();
    /// assert_eq!(s.refresh_token().map(|t| t.expose()), Some("Atzr|x"));
    /// ```
    #[must_use]
    pub fn refresh_token(&self) -> Option<Secret<'_>> {
        self.refresh.as_ref().map(SecretBuf::as_secret)
    }

    /// Whether a store or delete of the refresh token is waiting for confirmation.
    ///
    /// ```
    /// use lwa_core::session::{Config, Session};
    /// assert!(!Session::new(Config::new("client")).is_storage_pending());
    /// ```
    #[must_use]
    pub fn is_storage_pending(&self) -> bool {
        self.storage != Storage::Clean
    }

    /// The code pair being shown, while code-based linking waits for the user: the user
    /// code, where to enter it, and when it expires.
    ///
    /// ```
    /// use lwa_core::session::{Config, Session};
    /// assert!(Session::new(Config::new("client")).linking_code().is_none());
    /// ```
    #[must_use]
    pub fn linking_code(&self) -> Option<(&str, &str, Instant)> {
        match &self.phase {
            Phase::Linking(Some(p)) => Some((
                p.user_code.as_str(),
                p.verification_uri.as_str(),
                p.expires_at,
            )),
            _ => None,
        }
    }

    /// The reason the session stopped, if it did.
    ///
    /// ```
    /// use lwa_core::session::{Config, Session};
    /// assert!(Session::new(Config::new("client")).stop_reason().is_none());
    /// ```
    #[must_use]
    pub fn stop_reason(&self) -> Option<StopReason> {
        match self.phase {
            Phase::Stopped(r) => Some(r),
            _ => None,
        }
    }

    /// The application's answer for the action a driver stopped at ([`Action::halt`]),
    /// borrowing the session. [`Action::ShowCode`] is given once per code pair, so the code
    /// is read back from the session; a token or code gone meanwhile reads as "call again".
    ///
    /// ```
    /// use lwa_core::session::{Config, Halt, Instant, Next, Session};
    /// let mut session = Session::new(Config::new("client"));
    /// let now = Instant::from_millis(0);
    /// let halt = session.poll(now).halt();
    /// assert_eq!(halt, Some(Halt::SignIn));
    /// assert_eq!(session.answer(Halt::SignIn, now), Next::SignIn);
    /// ```
    pub fn answer(&self, halt: Halt, now: Instant) -> Next<'_> {
        match halt {
            Halt::Ready => match self.access_token(now) {
                Some(token) => Next::Ready(token),
                None => Next::Wait(now),
            },
            Halt::Wait(t) => Next::Wait(t),
            Halt::ShowCode => match self.linking_code() {
                Some((user_code, verification_uri, expires_at)) => Next::ShowCode {
                    user_code,
                    verification_uri,
                    expires_at,
                },
                None => Next::Wait(now),
            },
            Halt::SignIn => Next::SignIn,
            Halt::Stopped(r) => Next::Stopped(r),
        }
    }

    /// What to do next at `now`. Calling it again without a `handle_*` in between gives the
    /// same answer, except that [`Action::ShowCode`] is given once per code pair.
    ///
    /// ```
    /// use lwa_core::session::{Action, Config, Instant, Session};
    /// let mut s = Session::new(Config::new("client"));
    /// assert_eq!(s.poll(Instant::from_millis(0)), Action::SignIn);
    /// ```
    pub fn poll(&mut self, now: Instant) -> Action<'_> {
        if let Phase::Stopped(reason) = self.phase {
            return Action::Stopped(reason);
        }
        match self.storage {
            Storage::Clean => {}
            _ if self.store_backoff.waiting(now).is_some() => {
                return Action::Wait(self.store_backoff.until.unwrap_or(now));
            }
            Storage::Persist | Storage::PersistAccess => {
                let keep = self.config.keep_access_tokens;
                return match &self.refresh {
                    Some(token) => Action::Persist(Tokens {
                        refresh_token: token.as_secret(),
                        access_token: self
                            .access
                            .as_ref()
                            .filter(|_| keep)
                            .map(|a| (a.token.as_secret(), a.expires_at)),
                    }),
                    // Nothing to store after all.
                    None => Action::Forget,
                };
            }
            Storage::Forget => return Action::Forget,
        }
        if let Some(code) = self.code {
            if let Some(until) = self.backoff.waiting(now) {
                return Action::Wait(until);
            }
            self.in_flight = Some(InFlight::AuthorizationCode);
            return Action::Send(Request::AuthorizationCode {
                client_id: self.config.client_id,
                code: code.code,
                redirect_uri: code.redirect_uri,
                auth: match (code.code_verifier, self.config.client_secret) {
                    (Some(v), _) => crate::request::ClientAuth::Pkce { code_verifier: v },
                    (None, Some(s)) => crate::request::ClientAuth::Secret(s),
                    (None, None) => crate::request::ClientAuth::Secret(Secret::new("")),
                },
            });
        }
        if matches!(self.phase, Phase::Idle) && self.refresh.is_none() {
            let valid = self.access.as_ref().is_some_and(|a| now < a.expires_at);
            if !valid {
                self.access = None;
                self.phase = match self.config.linking {
                    Some(_) => Phase::Linking(None),
                    None => Phase::AwaitingCode,
                };
            }
        }
        if matches!(self.phase, Phase::Idle) {
            return self.poll_signed_in(now);
        }
        match &mut self.phase {
            Phase::Stopped(reason) => Action::Stopped(*reason),
            Phase::AwaitingCode | Phase::Idle => Action::SignIn,
            Phase::Linking(pair) => {
                let client_id = self.config.client_id;
                let Some(linking) = self.config.linking else {
                    return Action::SignIn;
                };
                if let Some(until) = self.backoff.waiting(now) {
                    return Action::Wait(until);
                }
                let expired = pair.as_ref().is_some_and(|p| now >= p.expires_at);
                if expired {
                    *pair = None;
                }
                let Some(p) = pair else {
                    self.in_flight = Some(InFlight::CodePair);
                    return Action::Send(Request::CodePair {
                        client_id,
                        product_id: linking.product_id,
                        device_serial_number: linking.device_serial_number,
                    });
                };
                if !p.shown {
                    p.shown = true;
                    return Action::ShowCode {
                        user_code: p.user_code.as_str(),
                        verification_uri: p.verification_uri.as_str(),
                        expires_at: p.expires_at,
                    };
                }
                if now >= p.next_poll {
                    self.in_flight = Some(InFlight::Poll);
                    return Action::Send(Request::DeviceCode {
                        device_code: p.device_code.as_secret(),
                        user_code: p.user_code.as_str(),
                    });
                }
                Action::Wait(p.next_poll.min(p.expires_at))
            }
        }
    }

    fn poll_signed_in(&mut self, now: Instant) -> Action<'_> {
        let access = self.access.as_ref();
        let valid = access.filter(|a| now < a.expires_at);
        // An expired token is still due only at its refresh time: a server that hands out
        // tokens already expired is asked again after MIN_REFRESH_INTERVAL, not at once.
        let due = access.is_none_or(|a| now >= a.refresh_at);
        let waiting = self.backoff.waiting(now);
        if let Some(refresh) = &self.refresh
            && due
            && waiting.is_none()
        {
            self.in_flight = Some(InFlight::Refresh);
            return Action::Send(Request::Refresh {
                client_id: self.config.client_id,
                refresh_token: refresh.as_secret(),
                client_secret: self.config.client_secret,
            });
        }
        match (valid, waiting) {
            (Some(a), _) => Action::Ready(a.token.as_secret()),
            (None, Some(until)) => Action::Wait(until),
            (None, None) => match access {
                Some(a) if now < a.refresh_at => Action::Wait(a.refresh_at),
                // No refresh token and no valid access token: only a sign-in helps.
                _ => Action::SignIn,
            },
        }
    }

    /// When [`poll`](Self::poll) will next answer differently without any `handle_*` call:
    /// the refresh time while a token is ready, the end of a retry delay, the next code-pair
    /// poll. `None` when only a `handle_*` call or the application can move things on.
    ///
    /// ```
    /// use lwa_core::session::{Config, Instant, Session};
    /// let s = Session::new(Config::new("client"));
    /// assert_eq!(s.poll_timeout(Instant::from_millis(0)), None);
    /// ```
    #[must_use]
    pub fn poll_timeout(&self, now: Instant) -> Option<Instant> {
        if matches!(self.phase, Phase::Stopped(_)) {
            return None;
        }
        if self.storage != Storage::Clean {
            return self.store_backoff.waiting(now);
        }
        let backoff = self.backoff.waiting(now);
        match &self.phase {
            Phase::Idle => {
                let access = self.access.as_ref();
                match (access.filter(|a| now < a.expires_at), backoff) {
                    (Some(a), Some(b)) => Some(a.expires_at.min(b.max(a.refresh_at))),
                    (Some(a), None) => Some(a.refresh_at.max(now)),
                    (None, Some(b)) => Some(b),
                    (None, None) => access.map(|a| a.refresh_at).filter(|&t| now < t),
                }
            }
            Phase::Linking(Some(p)) => Some(backoff.unwrap_or(p.next_poll).min(p.expires_at)),
            Phase::Linking(None) => backoff,
            Phase::AwaitingCode | Phase::Stopped(_) => None,
        }
    }

    /// Reports how the request of the last [`Action::Send`] ended. `sent_at` is when its
    /// first byte was written (expiry counts from there), `now` when the answer or failure
    /// arrived (retry delays count from there), `random` any random value (it spreads retry
    /// delays).
    ///
    /// # Errors
    /// [`SessionError::NothingInFlight`] if no request was asked for;
    /// [`SessionError::TooLong`] if a code pair does not fit (the request is retried).
    ///
    /// ```
    /// use lwa_core::session::{Config, Failure, Instant, Session, SessionError};
    /// let mut s = Session::new(Config::new("client"));
    /// let t = Instant::from_millis(0);
    /// assert_eq!(s.handle_response(t, t, Err(Failure::Transport), 0), Err(SessionError::NothingInFlight));
    /// ```
    pub fn handle_response(
        &mut self,
        sent_at: Instant,
        now: Instant,
        result: Result<Outcome<'_>, Failure>,
        random: u32,
    ) -> Result<(), SessionError> {
        let kind = self.in_flight.take().ok_or(SessionError::NothingInFlight)?;
        if kind == InFlight::AuthorizationCode {
            self.code = None;
        }
        match result {
            Ok(Outcome::Token(token)) if kind != InFlight::CodePair => {
                let expires_in = token.expires_in.unwrap_or(DEFAULT_EXPIRES_IN);
                let access = token.access_token.expose();
                let new_refresh = token
                    .refresh_token
                    .map(|t| t.expose())
                    .filter(|new| self.refresh.as_ref().is_none_or(|old| old.expose() != *new));
                // Both checked before either is kept: a token that does not fit changes
                // nothing. Tokens are written in place (no 2 KiB temporaries on the stack).
                if let Err(e) = fits(access).and_then(|()| new_refresh.map_or(Ok(()), fits)) {
                    self.backoff.fail(now, None, random);
                    return Err(SessionError::TooLong(e));
                }
                if let Some(new) = new_refresh {
                    set_in_place(&mut self.refresh, new);
                    self.storage = Storage::Persist;
                    self.store_backoff.reset();
                } else if self.config.keep_access_tokens
                    && self.refresh.is_some()
                    && self.storage == Storage::Clean
                {
                    self.storage = Storage::PersistAccess;
                    self.store_backoff.reset();
                }
                let lifetime = Duration::from_secs(u64::from(expires_in));
                let expires_at = sent_at.plus(lifetime);
                let ahead = lifetime
                    .saturating_sub(self.config.refresh_margin)
                    .max(lifetime / 2);
                let refresh_at = sent_at.plus(ahead).max(now.plus(MIN_REFRESH_INTERVAL));
                self.set_access(access, expires_at, refresh_at);
                self.backoff.reset();
                self.phase = Phase::Idle;
                Ok(())
            }
            Ok(Outcome::CodePair(pair)) if kind == InFlight::CodePair => {
                let interval = pair
                    .interval
                    .map_or(DEFAULT_POLL_INTERVAL, |s| Duration::from_secs(u64::from(s)))
                    .clamp(Duration::from_secs(1), MAX_POLL_INTERVAL);
                let stored = (|| -> Result<CodePair, CapacityError> {
                    Ok(CodePair {
                        device_code: SecretBuf::try_from_str(pair.device_code.expose())?,
                        user_code: heapless_str(pair.user_code)?,
                        verification_uri: heapless_str(pair.verification_uri)?,
                        expires_at: sent_at.plus(Duration::from_secs(u64::from(pair.expires_in))),
                        interval,
                        next_poll: now.plus(interval),
                        shown: false,
                    })
                })();
                match stored {
                    Ok(p) => {
                        self.phase = Phase::Linking(Some(p));
                        self.backoff.reset();
                        Ok(())
                    }
                    Err(e) => {
                        self.backoff.fail(now, None, random);
                        Err(SessionError::TooLong(e))
                    }
                }
            }
            Ok(Outcome::OAuthError {
                status,
                retry_after,
                error,
            }) => {
                self.handle_oauth_error(kind, now, status, retry_after, error.code, random);
                Ok(())
            }
            // A code pair for a token request or the reverse cannot come out of an exchange
            // for that request; treat it like any other unusable answer.
            Ok(_) | Err(Failure::Transport) => {
                self.backoff.fail(now, None, random);
                Ok(())
            }
            Err(Failure::Request(e)) => {
                self.phase = Phase::Stopped(StopReason::InvalidRequest(e));
                Ok(())
            }
            Err(Failure::Exchange(e)) => {
                let retry_after = match e {
                    ExchangeError::Status { retry_after, .. } => retry_after,
                    _ => None,
                };
                self.backoff.fail(now, retry_after, random);
                Ok(())
            }
        }
    }

    fn handle_oauth_error(
        &mut self,
        kind: InFlight,
        now: Instant,
        status: u16,
        retry_after: Option<u32>,
        code: ErrorCode<'_>,
        random: u32,
    ) {
        match (code.class(), kind) {
            (ErrorClass::ClientMisconfigured, _) => match code.known() {
                Some(code) => self.phase = Phase::Stopped(StopReason::Refused { code, status }),
                // Every misconfiguration code is a known one; stay safe anyway.
                None => self.backoff.fail(now, retry_after, random),
            },
            (ErrorClass::Pending, InFlight::Poll) => {
                self.backoff.reset();
                if let Phase::Linking(Some(p)) = &mut self.phase {
                    p.next_poll = now.plus(p.interval);
                }
            }
            (ErrorClass::SlowDown, InFlight::Poll) => {
                self.backoff.reset();
                if let Phase::Linking(Some(p)) = &mut self.phase {
                    p.interval = (p.interval + Duration::from_secs(5)).min(MAX_POLL_INTERVAL);
                    p.next_poll = now.plus(p.interval);
                }
            }
            (ErrorClass::CodePairExpired | ErrorClass::InvalidGrant, InFlight::Poll) => {
                // Start over with a new code pair (and show the new code).
                self.backoff.reset();
                self.phase = Phase::Linking(None);
            }
            (ErrorClass::InvalidGrant, InFlight::Refresh) => {
                self.backoff.reset();
                self.access = None;
                if let Some(mut old) = self.refresh.take() {
                    old.clear();
                }
                self.storage = Storage::Forget;
                self.store_backoff.reset();
                self.phase = Phase::Idle;
            }
            (ErrorClass::InvalidGrant, InFlight::AuthorizationCode) => {
                self.backoff.reset();
                self.phase = Phase::AwaitingCode;
            }
            _ => self.backoff.fail(now, retry_after, random),
        }
    }

    /// Reports how the store (or delete) asked for by [`Action::Persist`] or
    /// [`Action::Forget`] went. A failure is retried after the usual delays.
    ///
    /// # Errors
    /// [`SessionError::NothingToPersist`] if neither was asked for.
    ///
    /// ```
    /// use lwa_core::session::{Config, Instant, Session, SessionError};
    /// let mut s = Session::new(Config::new("client"));
    /// assert_eq!(s.handle_persisted(Instant::from_millis(0), true, 0), Err(SessionError::NothingToPersist));
    /// ```
    pub fn handle_persisted(
        &mut self,
        now: Instant,
        ok: bool,
        random: u32,
    ) -> Result<(), SessionError> {
        if self.storage == Storage::Clean {
            return Err(SessionError::NothingToPersist);
        }
        if ok || self.storage == Storage::PersistAccess {
            // An access token alone that could not be stored is not worth holding the token
            // back for: the stored refresh token is still good.
            self.storage = Storage::Clean;
            self.store_backoff.reset();
        } else {
            self.store_backoff.fail(now, None, random);
        }
        Ok(())
    }
}

fn heapless_str<const N: usize>(s: &str) -> Result<String<N>, CapacityError> {
    String::try_from(s).map_err(|_| CapacityError {
        required: s.len(),
        capacity: N,
    })
}

fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::{CodePairResponse, OAuthError, TokenResponse};

    const SEC: u64 = 1000;

    fn at(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    fn token<'a>(access: &'a str, refresh: Option<&'a str>, expires_in: u32) -> Outcome<'a> {
        Outcome::Token(TokenResponse {
            access_token: Secret::new(access),
            refresh_token: refresh.map(Secret::new),
            token_type: "bearer",
            expires_in: Some(expires_in),
        })
    }

    fn oauth(code: &str, status: u16, retry_after: Option<u32>) -> Outcome<'_> {
        Outcome::OAuthError {
            status,
            retry_after,
            error: OAuthError {
                code: ErrorCode::parse(code),
                description: None,
            },
        }
    }

    fn pair(expires_in: u32, interval: Option<u32>) -> Outcome<'static> {
        Outcome::CodePair(CodePairResponse {
            device_code: Secret::new("d1e4836b"),
            user_code: "BEYHYS",
            verification_uri: "https://amazon.com/us/code",
            expires_in,
            interval,
        })
    }

    fn persisted(a: Action<'_>) -> Option<&str> {
        match a {
            Action::Persist(t) => Some(t.refresh_token.expose()),
            _ => None,
        }
    }

    fn signed_in(config: Config<'static>) -> Session<'static> {
        let mut s = Session::new(config);
        s.restore_refresh_token("Atzr|0").unwrap();
        s
    }

    fn is_refresh(a: Action<'_>, rt: &str) -> bool {
        matches!(a, Action::Send(Request::Refresh { refresh_token, .. }) if refresh_token.expose() == rt)
    }

    /// Refreshes at `t` and answers with a rotated refresh token, confirming the store.
    #[test]
    fn a_token_that_does_not_fit_changes_nothing() {
        let mut s = Session::new(Config::new("c"));
        s.restore_refresh_token("Atzr|old").unwrap();
        refresh_ok(&mut s, 0, "Atza|one", "Atzr|kept");
        let long = "x".repeat(MAX_TOKEN_LEN + 1);
        // A fitting access token with a refresh token one byte too long: neither is kept.
        let t = s.poll_timeout(at(0)).unwrap().as_millis();
        assert!(matches!(
            s.poll(at(t)),
            Action::Send(Request::Refresh { .. })
        ));
        assert_eq!(
            s.handle_response(at(t), at(t), Ok(token("Atza|two", Some(&long), 3600)), 0),
            Err(SessionError::TooLong(CapacityError {
                required: MAX_TOKEN_LEN + 1,
                capacity: MAX_TOKEN_LEN
            }))
        );
        assert_eq!(s.refresh_token().unwrap().expose(), "Atzr|kept");
        assert_eq!(s.access_token(at(t)).unwrap().expose(), "Atza|one");
        // An exactly full-size pair is kept, in place of the old one.
        let full = "y".repeat(MAX_TOKEN_LEN);
        let t2 = s.poll_timeout(at(t)).unwrap().as_millis();
        assert!(matches!(
            s.poll(at(t2)),
            Action::Send(Request::Refresh { .. })
        ));
        s.handle_response(at(t2), at(t2), Ok(token(&full, Some(&full), 3600)), 0)
            .unwrap();
        assert_eq!(persisted(s.poll(at(t2))), Some(full.as_str()));
        s.handle_persisted(at(t2), true, 0).unwrap();
        assert_eq!(s.access_token(at(t2)).unwrap().expose(), full);
    }

    fn refresh_ok(s: &mut Session<'_>, t: u64, access: &str, refresh: &str) {
        assert!(matches!(
            s.poll(at(t)),
            Action::Send(Request::Refresh { .. })
        ));
        s.handle_response(at(t), at(t), Ok(token(access, Some(refresh), 3600)), 0)
            .unwrap();
        assert_eq!(persisted(s.poll(at(t))), Some(refresh));
        s.handle_persisted(at(t), true, 0).unwrap();
    }

    #[test]
    fn refreshes_ten_minutes_before_expiry_counted_from_sending() {
        let mut s = signed_in(Config::new("c"));
        assert!(is_refresh(s.poll(at(0)), "Atzr|0"));
        // Sent at 1 s, answered at 3 s: expiry counts from 1 s.
        s.handle_response(
            at(SEC),
            at(3 * SEC),
            Ok(token("Atza|1", Some("Atzr|1"), 3600)),
            0,
        )
        .unwrap();
        assert_eq!(persisted(s.poll(at(3 * SEC))), Some("Atzr|1"));
        s.handle_persisted(at(3 * SEC), true, 0).unwrap();
        assert_eq!(s.poll(at(3 * SEC)), Action::Ready(Secret::new("Atza|1")));
        assert_eq!(s.access_expires_at(), Some(at(3601 * SEC)));
        assert_eq!(s.poll_timeout(at(3 * SEC)), Some(at(3001 * SEC)));
        assert_eq!(
            s.poll(at(3001 * SEC - 1)),
            Action::Ready(Secret::new("Atza|1"))
        );
        assert!(is_refresh(s.poll(at(3001 * SEC)), "Atzr|1"));
    }

    #[test]
    fn short_lifetimes_refresh_at_half_life_and_never_in_a_hot_loop() {
        let mut s = signed_in(Config::new("c"));
        let _ = s.poll(at(0));
        s.handle_response(at(0), at(0), Ok(token("Atza|1", None, 300)), 0)
            .unwrap();
        assert_eq!(s.poll_timeout(at(0)), Some(at(150 * SEC)));
        // A token that is already expired on arrival: nothing handed out, next try 60 s on.
        assert!(is_refresh(s.poll(at(150 * SEC)), "Atzr|0"));
        s.handle_response(
            at(150 * SEC),
            at(151 * SEC),
            Ok(token("Atza|2", None, 0)),
            0,
        )
        .unwrap();
        assert_eq!(s.poll(at(151 * SEC)), Action::Wait(at(211 * SEC)));
        assert_eq!(s.poll_timeout(at(151 * SEC)), Some(at(211 * SEC)));
        assert!(is_refresh(s.poll(at(211 * SEC)), "Atzr|0"));
    }

    #[test]
    fn never_hands_out_an_expired_token_while_refresh_fails() {
        let mut s = signed_in(Config::new("c"));
        refresh_ok(&mut s, 0, "Atza|1", "Atzr|1");
        let mut t = 3000 * SEC;
        loop {
            match s.poll(at(t)) {
                Action::Send(_) => s
                    .handle_response(at(t), at(t), Err(Failure::Transport), 0)
                    .unwrap(),
                Action::Ready(_) => {
                    assert!(t < 3600 * SEC);
                    t += SEC;
                }
                Action::Wait(until) => {
                    assert!(t >= 3600 * SEC, "waits only once the token is gone");
                    assert!(until > at(t));
                    break;
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(s.access_token(at(3600 * SEC)), None);
        assert_eq!(
            s.access_token(at(3600 * SEC - 1)),
            Some(Secret::new("Atza|1"))
        );
    }

    #[test]
    fn retry_delays_follow_the_reference_schedule() {
        // random 0 gives the low end t/1.5 of each range.
        let mut s = signed_in(Config::new("c"));
        let lows = [0, 666, 1333, 2666, 6666, 20_000, 40_000, 40_000, 40_000];
        let mut t = 0;
        for low in lows {
            assert!(is_refresh(s.poll(at(t)), "Atzr|0"), "at {t}");
            s.handle_response(at(t), at(t), Err(Failure::Transport), 0)
                .unwrap();
            if low > 0 {
                assert_eq!(s.poll(at(t)), Action::Wait(at(t + low)));
                assert_eq!(s.poll_timeout(at(t)), Some(at(t + low)));
            }
            t += low;
        }
        // The high end is 1.5 t.
        assert_eq!(
            jitter(Duration::from_secs(10), 8334),
            Duration::from_millis(15_000)
        );
        assert_eq!(
            jitter(Duration::from_secs(10), 8335),
            Duration::from_millis(6_666)
        );
        assert_eq!(
            jitter(Duration::from_secs(60), u32::MAX),
            Duration::from_millis(40_000 + u64::from(u32::MAX) % 50_001)
        );
        assert_eq!(jitter(Duration::ZERO, u32::MAX), Duration::ZERO);
    }

    #[test]
    fn recovers_at_once_after_an_outage() {
        let mut s = signed_in(Config::new("c"));
        let mut t = 0;
        for _ in 0..20 {
            match s.poll(at(t)) {
                Action::Send(_) => s
                    .handle_response(at(t), at(t), Err(Failure::Transport), 0)
                    .unwrap(),
                Action::Wait(until) => t = until.as_millis(),
                other => panic!("{other:?}"),
            }
        }
        // The outage ends: the next attempt succeeds and everything is fine again.
        let _ = s.poll(at(t));
        while !matches!(s.poll(at(t)), Action::Send(_)) {
            t += SEC;
        }
        s.handle_response(at(t), at(t), Ok(token("Atza|1", None, 3600)), 0)
            .unwrap();
        assert_eq!(s.poll(at(t)), Action::Ready(Secret::new("Atza|1")));
        // And the delays start over from 0.
        assert!(matches!(s.poll(at(t + 3000 * SEC)), Action::Send(_)));
        s.handle_response(
            at(t + 3000 * SEC),
            at(t + 3000 * SEC),
            Err(Failure::Transport),
            0,
        )
        .unwrap();
        assert!(matches!(s.poll(at(t + 3000 * SEC)), Action::Send(_)));
    }

    #[test]
    fn honours_retry_after_up_to_an_hour() {
        let mut s = signed_in(Config::new("c"));
        let _ = s.poll(at(0));
        s.handle_response(
            at(0),
            at(0),
            Err(Failure::Exchange(ExchangeError::Status {
                status: 429,
                retry_after: Some(120),
            })),
            0,
        )
        .unwrap();
        assert_eq!(s.poll(at(0)), Action::Wait(at(120 * SEC)));
        assert!(matches!(s.poll(at(120 * SEC)), Action::Send(_)));
        s.handle_response(
            at(120 * SEC),
            at(120 * SEC),
            Ok(oauth("server_error", 503, Some(u32::MAX))),
            0,
        )
        .unwrap();
        assert_eq!(
            s.poll(at(120 * SEC)),
            Action::Wait(at(120 * SEC + 3600 * SEC))
        );
    }

    #[test]
    fn unknown_codes_and_broken_answers_are_retried() {
        for outcome in [
            Ok(oauth("brand_new_code", 400, None)),
            Ok(oauth("authorization_pending", 400, None)),
            Err(Failure::Exchange(ExchangeError::Status {
                status: 500,
                retry_after: None,
            })),
            Err(Failure::Exchange(ExchangeError::Http(
                crate::error::HttpError::Truncated,
            ))),
        ] {
            let mut s = signed_in(Config::new("c"));
            let _ = s.poll(at(0));
            s.handle_response(at(0), at(0), outcome, 0).unwrap();
            let _ = s.poll(at(0)); // first retry is immediate
            s.handle_response(at(0), at(0), Err(Failure::Transport), 0)
                .unwrap();
            assert_eq!(s.poll(at(0)), Action::Wait(at(666)));
            assert_eq!(s.stop_reason(), None);
        }
    }

    #[test]
    fn stores_the_new_refresh_token_before_handing_out_the_access_token() {
        let mut s = signed_in(Config::new("c"));
        let _ = s.poll(at(0));
        s.handle_response(at(0), at(0), Ok(token("Atza|1", Some("Atzr|1"), 3600)), 0)
            .unwrap();
        assert_eq!(s.access_token(at(0)), None);
        assert_eq!(persisted(s.poll(at(0))), Some("Atzr|1"));
        // The store fails: retried after the usual delays, no access token meanwhile.
        s.handle_persisted(at(0), false, 0).unwrap();
        assert_eq!(persisted(s.poll(at(0))), Some("Atzr|1"));
        s.handle_persisted(at(0), false, 0).unwrap();
        assert_eq!(s.poll(at(0)), Action::Wait(at(666)));
        assert_eq!(s.poll_timeout(at(0)), Some(at(666)));
        assert_eq!(persisted(s.poll(at(666))), Some("Atzr|1"));
        s.handle_persisted(at(666), true, 0).unwrap();
        assert_eq!(s.poll(at(666)), Action::Ready(Secret::new("Atza|1")));
        assert_eq!(
            s.handle_persisted(at(666), true, 0),
            Err(SessionError::NothingToPersist)
        );
    }

    #[test]
    fn persist_carries_the_access_token_and_its_expiry() {
        let mut s = signed_in(Config {
            keep_access_tokens: true,
            ..Config::new("c")
        });
        let _ = s.poll(at(5 * SEC));
        s.handle_response(
            at(5 * SEC),
            at(6 * SEC),
            Ok(token("Atza|1", Some("Atzr|1"), 3600)),
            0,
        )
        .unwrap();
        assert_eq!(
            s.poll(at(6 * SEC)),
            Action::Persist(Tokens {
                refresh_token: Secret::new("Atzr|1"),
                access_token: Some((Secret::new("Atza|1"), at(3605 * SEC))),
            })
        );
    }

    #[test]
    fn without_kept_access_tokens_persist_carries_the_refresh_token_alone() {
        let mut s = signed_in(Config::new("c"));
        let _ = s.poll(at(5 * SEC));
        s.handle_response(
            at(5 * SEC),
            at(6 * SEC),
            Ok(token("Atza|1", Some("Atzr|1"), 3600)),
            0,
        )
        .unwrap();
        assert_eq!(
            s.poll(at(6 * SEC)),
            Action::Persist(Tokens {
                refresh_token: Secret::new("Atzr|1"),
                access_token: None,
            })
        );
    }

    /// LWA's usual answer keeps the refresh token: with access tokens kept, every new one is
    /// asked to be stored all the same; a failure to store it alone is not retried and does
    /// not hold the token back (the stored refresh token is still good).
    #[test]
    fn kept_access_tokens_are_stored_whenever_they_are_new() {
        let mut s = signed_in(Config {
            keep_access_tokens: true,
            ..Config::new("c")
        });
        for (n, t) in [(1u64, 0u64), (2, 3600), (3, 7200)] {
            let now = at(t * SEC);
            assert!(is_refresh(s.poll(now), "Atzr|0"), "refresh {n}");
            let access = if n == 1 {
                "Atza|1"
            } else if n == 2 {
                "Atza|2"
            } else {
                "Atza|3"
            };
            s.handle_response(now, now, Ok(token(access, Some("Atzr|0"), 3600)), 0)
                .unwrap();
            assert_eq!(
                s.poll(now),
                Action::Persist(Tokens {
                    refresh_token: Secret::new("Atzr|0"),
                    access_token: Some((Secret::new(access), at((t + 3600) * SEC))),
                }),
                "refresh {n}"
            );
            assert!(s.access_token(now).is_none());
            // The third store fails: not retried, the token is handed out.
            s.handle_persisted(now, n != 3, 0).unwrap();
            assert_eq!(
                s.poll(now),
                Action::Ready(Secret::new(access)),
                "refresh {n}"
            );
            assert_eq!(
                s.handle_persisted(now, true, 0),
                Err(SessionError::NothingToPersist)
            );
        }
        // A restored access token is not stored again.
        let mut s = signed_in(Config {
            keep_access_tokens: true,
            ..Config::new("c")
        });
        s.restore_access_token("Atza|r", at(3600 * SEC)).unwrap();
        assert_eq!(s.poll(at(0)), Action::Ready(Secret::new("Atza|r")));
    }

    #[test]
    fn an_unchanged_or_missing_refresh_token_is_not_stored_again() {
        let mut s = signed_in(Config::new("c"));
        let _ = s.poll(at(0));
        s.handle_response(at(0), at(0), Ok(token("Atza|1", Some("Atzr|0"), 3600)), 0)
            .unwrap();
        assert_eq!(s.poll(at(0)), Action::Ready(Secret::new("Atza|1")));
        assert!(is_refresh(s.poll(at(3000 * SEC)), "Atzr|0"));
        s.handle_response(
            at(3000 * SEC),
            at(3000 * SEC),
            Ok(token("Atza|2", None, 3600)),
            0,
        )
        .unwrap();
        assert_eq!(s.poll(at(3000 * SEC)), Action::Ready(Secret::new("Atza|2")));
        assert_eq!(s.refresh_token(), Some(Secret::new("Atzr|0")));
    }

    #[test]
    fn invalid_grant_on_refresh_forgets_and_asks_for_sign_in() {
        let mut s = signed_in(Config::new("c"));
        refresh_ok(&mut s, 0, "Atza|1", "Atzr|1");
        let _ = s.poll(at(3000 * SEC));
        s.handle_response(
            at(3000 * SEC),
            at(3000 * SEC),
            Ok(oauth("invalid_grant", 400, None)),
            0,
        )
        .unwrap();
        assert_eq!(s.refresh_token(), None);
        assert_eq!(s.access_token(at(3000 * SEC)), None);
        assert_eq!(s.poll(at(3000 * SEC)), Action::Forget);
        s.handle_persisted(at(3000 * SEC), false, 0).unwrap();
        assert_eq!(s.poll(at(3000 * SEC)), Action::Forget);
        s.handle_persisted(at(3000 * SEC), true, 0).unwrap();
        assert_eq!(s.poll(at(3000 * SEC)), Action::SignIn);
    }

    #[test]
    fn terminal_errors_stop_without_retry() {
        for code in [
            "invalid_client",
            "unauthorized_client",
            "invalid_request",
            "unsupported_grant_type",
            "InvalidValue",
            "invalid_scope",
        ] {
            let mut s = signed_in(Config::new("c"));
            let _ = s.poll(at(0));
            s.handle_response(at(0), at(0), Ok(oauth(code, 401, None)), 0)
                .unwrap();
            let reason = StopReason::Refused {
                code: ErrorCode::parse(code).known().unwrap(),
                status: 401,
            };
            assert_eq!(s.poll(at(0)), Action::Stopped(reason));
            assert_eq!(s.poll(at(1_000_000 * SEC)), Action::Stopped(reason));
            assert_eq!(s.poll_timeout(at(0)), None);
        }
        let mut s = signed_in(Config::new("c"));
        let _ = s.poll(at(0));
        let e = EmitError::EmptyParameter { name: "client_id" };
        s.handle_response(at(0), at(0), Err(Failure::Request(e)), 0)
            .unwrap();
        assert_eq!(
            s.poll(at(0)),
            Action::Stopped(StopReason::InvalidRequest(e))
        );
    }

    #[test]
    fn code_based_linking() {
        let mut config = Config::new("c");
        config.linking = Some(Linking {
            product_id: "my_device",
            device_serial_number: "12345",
        });
        let mut s = Session::new(config);
        assert!(matches!(
            s.poll(at(0)),
            Action::Send(Request::CodePair {
                product_id: "my_device",
                device_serial_number: "12345",
                ..
            })
        ));
        s.handle_response(at(0), at(SEC), Ok(pair(600, Some(30))), 0)
            .unwrap();
        assert_eq!(
            s.poll(at(SEC)),
            Action::ShowCode {
                user_code: "BEYHYS",
                verification_uri: "https://amazon.com/us/code",
                expires_at: at(600 * SEC)
            }
        );
        // Shown once; then polls at the server's interval.
        assert_eq!(
            s.linking_code(),
            Some(("BEYHYS", "https://amazon.com/us/code", at(600 * SEC)))
        );
        assert_eq!(s.poll(at(SEC)), Action::Wait(at(31 * SEC)));
        assert!(matches!(
            s.poll(at(31 * SEC)),
            Action::Send(Request::DeviceCode {
                user_code: "BEYHYS",
                ..
            })
        ));
        s.handle_response(
            at(31 * SEC),
            at(31 * SEC),
            Ok(oauth("authorization_pending", 400, None)),
            0,
        )
        .unwrap();
        assert_eq!(s.poll(at(31 * SEC)), Action::Wait(at(61 * SEC)));
        let _ = s.poll(at(61 * SEC));
        s.handle_response(
            at(61 * SEC),
            at(61 * SEC),
            Ok(oauth("slow_down", 400, None)),
            0,
        )
        .unwrap();
        assert_eq!(s.poll(at(61 * SEC)), Action::Wait(at(96 * SEC)));
        // The code expires before the user enters it: a new code pair, shown again.
        let _ = s.poll(at(96 * SEC));
        s.handle_response(
            at(96 * SEC),
            at(96 * SEC),
            Ok(oauth("expired_token", 400, None)),
            0,
        )
        .unwrap();
        assert!(matches!(
            s.poll(at(96 * SEC)),
            Action::Send(Request::CodePair { .. })
        ));
        s.handle_response(at(96 * SEC), at(96 * SEC), Ok(pair(600, None)), 0)
            .unwrap();
        assert!(matches!(s.poll(at(96 * SEC)), Action::ShowCode { .. }));
        assert_eq!(s.poll(at(96 * SEC)), Action::Wait(at(101 * SEC)));
        // A local expiry asks for a new pair too.
        assert!(matches!(
            s.poll(at(696 * SEC)),
            Action::Send(Request::CodePair { .. })
        ));
        s.handle_response(at(696 * SEC), at(696 * SEC), Ok(pair(600, Some(5))), 0)
            .unwrap();
        assert!(matches!(s.poll(at(696 * SEC)), Action::ShowCode { .. }));
        let _ = s.poll(at(701 * SEC));
        s.handle_response(
            at(701 * SEC),
            at(701 * SEC),
            Ok(token("Atza|1", Some("Atzr|1"), 3600)),
            0,
        )
        .unwrap();
        assert_eq!(persisted(s.poll(at(701 * SEC))), Some("Atzr|1"));
        s.handle_persisted(at(701 * SEC), true, 0).unwrap();
        assert_eq!(s.poll(at(701 * SEC)), Action::Ready(Secret::new("Atza|1")));
    }

    #[test]
    fn linking_failures_back_off() {
        let mut config = Config::new("c");
        config.linking = Some(Linking {
            product_id: "p",
            device_serial_number: "1",
        });
        let mut s = Session::new(config);
        let _ = s.poll(at(0));
        s.handle_response(at(0), at(0), Err(Failure::Transport), 0)
            .unwrap();
        let _ = s.poll(at(0));
        s.handle_response(at(0), at(0), Ok(oauth("server_error", 500, None)), 0)
            .unwrap();
        assert_eq!(s.poll(at(0)), Action::Wait(at(666)));
    }

    #[test]
    fn authorization_code_sign_in() {
        let mut s = Session::new(Config::new("c"));
        assert_eq!(s.poll(at(0)), Action::SignIn);
        s.authorization_code(AuthorizationCode {
            code: Secret::new("code1"),
            redirect_uri: "https://x/cb",
            code_verifier: Some(Secret::new("v")),
        });
        match s.poll(at(0)) {
            Action::Send(Request::AuthorizationCode { code, auth, .. }) => {
                assert_eq!(code.expose(), "code1");
                assert_eq!(
                    auth,
                    crate::request::ClientAuth::Pkce {
                        code_verifier: Secret::new("v")
                    }
                );
            }
            other => panic!("{other:?}"),
        }
        // A code used twice: sign in again.
        s.handle_response(at(0), at(0), Ok(oauth("invalid_grant", 400, None)), 0)
            .unwrap();
        assert_eq!(s.poll(at(0)), Action::SignIn);
        s.authorization_code(AuthorizationCode {
            code: Secret::new("code2"),
            redirect_uri: "https://x/cb",
            code_verifier: None,
        });
        let _ = s.poll(at(0));
        s.handle_response(at(0), at(0), Ok(token("Atza|1", Some("Atzr|1"), 3600)), 0)
            .unwrap();
        assert_eq!(persisted(s.poll(at(0))), Some("Atzr|1"));
    }

    #[test]
    fn responses_need_a_request() {
        let mut s = signed_in(Config::new("c"));
        assert_eq!(
            s.handle_response(at(0), at(0), Err(Failure::Transport), 0),
            Err(SessionError::NothingInFlight)
        );
        let _ = s.poll(at(0));
        s.handle_response(at(0), at(0), Err(Failure::Transport), 0)
            .unwrap();
        assert_eq!(
            s.handle_response(at(0), at(0), Err(Failure::Transport), 0),
            Err(SessionError::NothingInFlight)
        );
    }

    #[test]
    fn restored_access_token_is_used_until_the_margin() {
        let mut s = signed_in(Config::new("c"));
        s.restore_access_token("Atza|old", at(1000 * SEC)).unwrap();
        assert_eq!(s.poll(at(0)), Action::Ready(Secret::new("Atza|old")));
        assert_eq!(s.poll_timeout(at(0)), Some(at(400 * SEC)));
        assert!(is_refresh(s.poll(at(400 * SEC)), "Atzr|0"));
    }

    #[test]
    fn debug_shows_no_secrets() {
        let mut s = signed_in(Config {
            client_secret: Some(Secret::new("topsecret")),
            ..Config::new("c")
        });
        refresh_ok(&mut s, 0, "Atza|verysecret", "Atzr|alsosecret");
        let text = std::format!("{s:?}");
        for secret in ["topsecret", "verysecret", "alsosecret"] {
            assert!(!text.contains(secret), "{text}");
        }
    }
}
