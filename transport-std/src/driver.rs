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
        }
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
    /// [`DriverError`] when a person must act or the store fails.
    pub fn token(
        &mut self,
        events: &mut dyn FnMut(Event<'_>),
    ) -> Result<Zeroizing<String>, DriverError<S::Error>> {
        loop {
            let now = self.now();
            match self.session.poll(now) {
                Action::Ready(token) => return Ok(Zeroizing::new(token.expose().to_owned())),
                Action::Send(request) => {
                    events(Event::Sending {
                        path: request.path(),
                    });
                    let result = self.client.execute(&request, &mut self.buf);
                    let arrived = since(self.origin);
                    let result = result.map_err(|e| {
                        events(Event::Failed(&e));
                        e.to_failure()
                    });
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
                } => events(Event::ShowCode {
                    user_code,
                    verification_uri,
                    expires_in: expires_at.since(now),
                }),
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
