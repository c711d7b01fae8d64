//! A blocking driver for lwa-core's [`Session`]: it carries out the session's actions with a
//! [`Client`], a [`TokenStore`], the system clock and the OS random generator, and sleeps
//! when told to wait. All decisions stay in the session.
//!
//! ```no_run
//! use lwa_std::client::Client;
//! use lwa_std::core::endpoint::{Endpoint, Region};
//! use lwa_std::core::session::{Config, Session};
//! use lwa_std::driver::Driver;
//! use lwa_std::store::{FileStore, SessionStore};
//!
//! let config = Config::new("amzn1.application-oa2-client.abc");
//! let mut session = Session::new(config);
//! session.restore_refresh_token("Atzr|...")?;
//! let store = SessionStore { store: FileStore::new("tokens.json"), client_id: config.client_id.into(), unix_origin: std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs() };
//! let mut driver = Driver::new(Client::new(&Endpoint::region(Region::Na))?, session, store);
//! let token = driver.token(&mut |event| eprintln!("{event:?}"))?;
//! println!("Authorization: Bearer {}", token.as_str());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::time::{Duration, Instant as StdInstant};

use lwa_core::session::{Action, Instant, Session, SessionError, StopReason, TokenStore};
use zeroize::Zeroizing;

use crate::client::{BUFFER_LEN, Client, Error as ClientError};

/// What the driver tells its caller along the way (for display or logs; no secrets).
#[derive(Debug)]
#[non_exhaustive]
pub enum Event<'a> {
    /// A request is about to be sent to this path.
    Sending {
        /// `/auth/o2/token` or `/auth/O2/create/codepair`.
        path: &'static str,
    },
    /// A request failed; the session will retry.
    Failed(&'a ClientError),
    /// Show the user this code (code-based linking).
    ShowCode {
        /// The code to type in.
        user_code: &'a str,
        /// Where to type it.
        verification_uri: &'a str,
        /// How long the code stays valid.
        expires_in: Duration,
    },
    /// Waiting; called about once a second with the time left.
    Waiting {
        /// Time until the session's next step.
        remaining: Duration,
    },
    /// Tokens were stored.
    Stored,
}

/// Why [`Driver::token`] returned without a token.
#[derive(Debug)]
#[non_exhaustive]
pub enum DriverError<E> {
    /// No refresh token and no code-based linking: a person must sign in
    /// (`lwa exchange` or `lwa device-login`).
    SignInRequired,
    /// LWA refused the configuration.
    Stopped(StopReason),
    /// Storing or deleting tokens failed; the session keeps them and retries on the next
    /// call.
    Store(E),
    /// The session was driven out of order (a bug in the driver).
    Session(SessionError),
    /// Requests kept failing for longer than [`Driver::give_up_after`] allows, and no code
    /// shown to the user was still usable.
    GaveUp {
        /// How long requests had been failing.
        failing_for: Duration,
        /// The last failure.
        last: ClientError,
    },
}

impl<E: fmt::Display> fmt::Display for DriverError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SignInRequired => {
                f.write_str("not signed in: run `lwa device-login` or `lwa exchange`")
            }
            Self::Stopped(r) => write!(f, "{r}"),
            Self::Store(e) => write!(f, "token store: {e}"),
            Self::Session(e) => write!(f, "session: {e}"),
            Self::GaveUp { failing_for, last } => write!(
                f,
                "gave up after {} s of failed requests with no usable code: {last}",
                failing_for.as_secs()
            ),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for DriverError<E> {}

/// Runs a session. See the [module docs](self).
#[derive(Debug)]
pub struct Driver<'c, S> {
    client: Client,
    session: Session<'c>,
    store: S,
    origin: StdInstant,
    buf: Vec<u8>,
    give_up_after: Option<Duration>,
    /// When the current run of failed requests began.
    failing_since: Option<StdInstant>,
    /// The last failed request's error.
    last_failure: Option<ClientError>,
    /// Until when the last code shown to the user can still be entered.
    code_usable_until: Option<StdInstant>,
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

impl<'c, S: TokenStore> Driver<'c, S> {
    /// A driver whose monotonic clock starts now.
    #[must_use]
    pub fn new(client: Client, session: Session<'c>, store: S) -> Self {
        Self {
            client,
            session,
            store,
            origin: StdInstant::now(),
            buf: vec![0; BUFFER_LEN],
            give_up_after: None,
            failing_since: None,
            last_failure: None,
            code_usable_until: None,
        }
    }

    /// Bounds the retries: [`token`](Self::token) stops with [`DriverError::GaveUp`] once
    /// requests have failed for `limit` without an answer in between, unless a code shown
    /// to the user can still be entered (then it keeps polling until the code expires, and
    /// gives up if no new code can be had). Without a limit the session retries forever,
    /// as a device must.
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
    /// let store = SessionStore {
    ///     store: FileStore::new(dir.path().join("tokens.json")),
    ///     client_id: "amzn1.application-oa2-client.abc".into(),
    ///     unix_origin: 0,
    /// };
    /// let mut driver = Driver::new(client, session, store).give_up_after(Duration::ZERO);
    /// assert!(matches!(driver.token(&mut |_| {}), Err(DriverError::GaveUp { .. })));
    /// ```
    #[must_use]
    pub fn give_up_after(mut self, limit: Duration) -> Self {
        self.give_up_after = Some(limit);
        self
    }

    /// Whether to stop retrying: failing for longer than the limit, no usable code.
    fn should_give_up(&self) -> Option<Duration> {
        let limit = self.give_up_after?;
        let failing_for = self.failing_since?.elapsed();
        let code_usable = self
            .code_usable_until
            .is_some_and(|until| StdInstant::now() < until);
        (failing_for >= limit && !code_usable).then_some(failing_for)
    }

    /// The session's clock: milliseconds since the driver was made.
    #[must_use]
    pub fn now(&self) -> Instant {
        since(self.origin)
    }

    /// The session, to restore tokens or look at its state.
    pub fn session_mut(&mut self) -> &mut Session<'c> {
        &mut self.session
    }

    /// Carries out the session's actions until it hands out a valid access token.
    ///
    /// # Errors
    /// [`DriverError`] when a person must act, the store fails, or (with
    /// [`give_up_after`](Self::give_up_after)) requests kept failing.
    pub fn token(
        &mut self,
        events: &mut dyn FnMut(Event<'_>),
    ) -> Result<Zeroizing<String>, DriverError<S::Error>> {
        loop {
            let give_up = self.should_give_up();
            let now = self.now();
            let action = self.session.poll(now);
            // A valid token is still handed out; only another attempt is given up.
            if matches!(action, Action::Send(_) | Action::Wait(_))
                && let Some(failing_for) = give_up
                && let Some(last) = self.last_failure.take()
            {
                return Err(DriverError::GaveUp { failing_for, last });
            }
            match action {
                Action::Ready(token) => return Ok(Zeroizing::new(token.expose().to_owned())),
                Action::Send(request) => {
                    events(Event::Sending {
                        path: request.path(),
                    });
                    let result = self.client.execute(&request, &mut self.buf);
                    let arrived = since(self.origin);
                    let result = match result {
                        Ok(outcome) => {
                            self.failing_since = None;
                            Ok(outcome)
                        }
                        Err(e) => {
                            events(Event::Failed(&e));
                            let failure = e.to_failure();
                            self.failing_since.get_or_insert_with(StdInstant::now);
                            self.last_failure = Some(e);
                            Err(failure)
                        }
                    };
                    self.session
                        .handle_response(now, arrived, result, random())
                        .map_err(DriverError::Session)?;
                }
                Action::Persist(tokens) => {
                    let result = self.store.store(&tokens);
                    self.finish_store(result)?;
                    events(Event::Stored);
                }
                Action::Forget => {
                    let result = self.store.forget();
                    self.finish_store(result)?;
                }
                Action::ShowCode {
                    user_code,
                    verification_uri,
                    expires_at,
                } => {
                    let expires_in = expires_at.since(now);
                    self.code_usable_until = StdInstant::now().checked_add(expires_in);
                    events(Event::ShowCode {
                        user_code,
                        verification_uri,
                        expires_in,
                    });
                }
                Action::Wait(until) => {
                    let remaining = until.since(now);
                    events(Event::Waiting { remaining });
                    std::thread::sleep(remaining.min(Duration::from_secs(1)));
                }
                Action::SignIn => return Err(DriverError::SignInRequired),
                Action::Stopped(reason) => return Err(DriverError::Stopped(reason)),
            }
        }
    }

    fn finish_store(&mut self, result: Result<(), S::Error>) -> Result<(), DriverError<S::Error>> {
        let now = self.now();
        let ok = result.is_ok();
        self.session
            .handle_persisted(now, ok, random())
            .map_err(DriverError::Session)?;
        result.map_err(DriverError::Store)
    }
}
