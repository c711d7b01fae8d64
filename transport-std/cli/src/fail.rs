//! Why a command failed, its exit code, and what the library's errors mean for the person at
//! the command: each names what to check or do next.
//!
//! Exit codes: 0 success; 1 LWA answered with an OAuth error; 2 usage or configuration
//! error (a refused store and not being signed in included); 3 network, TLS, timeout or
//! protocol failure, a store lock held too long by another lwa, or a full stdout (reported
//! after the store was saved). A stdout closed by its reader is death by SIGPIPE, quietly.

use lwa_std::client::Error as ClientError;
use lwa_std::driver::{DriverError, Refusal};
use lwa_std::proxy::TunnelError;
use lwa_std::store::StoreError;

use crate::context::{Ctx, SaveError};
use crate::output::escaped;
use crate::text::span;

/// A failure and its exit code.
#[derive(Debug)]
pub(crate) enum Fail {
    /// 1: LWA answered with an OAuth error.
    OAuth(String),
    /// 2: usage or configuration.
    Config(String),
    /// 3: network, TLS, timeout or protocol.
    Network(String),
    /// This exit code, with nothing more to say (the output said it).
    Silent(u8),
    /// Stdout was closed by its reader (`lwa status | head -1`): `lwa` dies of SIGPIPE
    /// without a word, as `yes | head` does (exit 3 where there is no SIGPIPE). Reported
    /// only after the store was saved.
    ClosedStdout,
    /// `lwa exec`'s command could not be started: 127 not found, 126 not runnable, as
    /// shells say.
    Exec {
        /// 126 or 127.
        code: u8,
        /// What went wrong.
        message: String,
    },
}

impl Fail {
    pub(crate) fn code(&self) -> u8 {
        match self {
            Self::OAuth(_) => 1,
            Self::Config(_) => 2,
            Self::Network(_) => 3,
            Self::Silent(code) => *code,
            Self::ClosedStdout => 3,
            Self::Exec { code, .. } => *code,
        }
    }

    pub(crate) fn message(&self) -> &str {
        match self {
            Self::OAuth(m) | Self::Config(m) | Self::Network(m) | Self::Exec { message: m, .. } => {
                m
            }
            Self::Silent(_) | Self::ClosedStdout => "",
        }
    }
}

impl From<ClientError> for Fail {
    fn from(e: ClientError) -> Self {
        if e.is_configuration() {
            Self::Config(e.to_string())
        } else {
            Self::Network(e.to_string())
        }
    }
}

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Self {
        match e {
            // Another lwa is busy with the store: a timeout, worth trying again.
            StoreError::LockTimeout { .. } => Self::Network(format!("token store: {e}")),
            StoreError::Directory { ref path } => Self::Config(format!(
                "token store: {e}; to keep the tokens in it, pass --store {}",
                path.join("tokens.json").display()
            )),
            _ => Self::Config(format!("token store: {e}")),
        }
    }
}

/// What the command was doing, for the advice in its errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Doing {
    /// Refreshing (refresh, token).
    Refresh,
    /// Trading an authorization code (exchange).
    Exchange,
    /// Code-based linking (device-login).
    Linking,
}

/// What an OAuth error means for the person at the command, and what to do.
pub(crate) fn refusal(refusal: &Refusal, doing: Doing) -> Fail {
    let advice = match (refusal.code.as_str(), doing) {
        ("invalid_grant", Doing::Refresh) => {
            "; the refresh token is no longer valid (the device was removed or the token \
             revoked): sign in again with `lwa device-login` or `lwa exchange`"
        }
        ("invalid_grant", Doing::Exchange) => {
            "; the code was used already, expired, or does not match --redirect-uri or \
             --code-verifier: get a new authorization code"
        }
        ("invalid_client" | "unauthorized_client", _) => {
            "; check --client-id (or LWA_CLIENT_ID) and --client-secret against the security \
             profile"
        }
        _ => "",
    };
    Fail::OAuth(format!("{refusal}{advice}"))
}

/// A failed exchange, naming the server and what to check.
pub(crate) fn client_failure(ctx: &Ctx, e: ClientError) -> Fail {
    use rustls::{CertificateError, InvalidMessage};
    let endpoint = ctx.client.endpoint();
    let at = format!("{}:{}", endpoint.host(), endpoint.port());
    match &e {
        ClientError::Resolve(io) => Fail::Network(format!(
            "cannot resolve {}: {io}; is the host name in --endpoint or --region right?",
            endpoint.host()
        )),
        ClientError::TlsAnswer => Fail::Network(format!(
            "{at} answered in TLS, not plain HTTP: use https://{at}"
        )),
        ClientError::Connect(io) => Fail::Network(format!(
            "cannot connect to {at}: {io}; is the server running, and are --endpoint and \
             --region right?"
        )),
        ClientError::Tls(rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)) => {
            Fail::Network(format!(
                "{e}; the certificate of {at} is not from a CA lwa trusts: if the server uses \
                 a private CA (a test server, a proxy), pass it with --ca-file"
            ))
        }
        ClientError::Tls(rustls::Error::InvalidMessage(InvalidMessage::InvalidContentType)) => {
            Fail::Network(format!(
                "{e}; {at} does not speak TLS (a plain-HTTP port?): for a local server use \
                 http://"
            ))
        }
        ClientError::Timeout => Fail::Network(match ctx.client.proxy() {
            Some(proxy) => format!(
                "timed out talking to {at} through the proxy {proxy} (see --timeout and \
                 --exchange-timeout)"
            ),
            None => format!("timed out talking to {at} (see --timeout and --exchange-timeout)"),
        }),
        ClientError::Proxy { error, .. } => {
            let hint = match error {
                TunnelError::Timeout => " (see --timeout and --exchange-timeout)",
                TunnelError::Resolve(_) | TunnelError::Connect(_) => {
                    "; is the proxy running, and is --proxy (or HTTPS_PROXY) right? --proxy \
                     none connects directly"
                }
                _ => "",
            };
            Fail::Network(format!("{e}{hint}"))
        }
        _ => Fail::from(e),
    }
}

/// What a failed run of the session means for the person at the command.
pub(crate) fn failure(ctx: &Ctx, e: DriverError<SaveError>, doing: Doing) -> Fail {
    match e {
        DriverError::SignInRequired => not_signed_in_as(ctx),
        DriverError::Stopped(reason) => Fail::OAuth(reason.to_string()),
        DriverError::Refused(r) => refusal(&r, doing),
        DriverError::Failed(e) => client_failure(ctx, e),
        DriverError::Store(SaveError::Store(e)) => Fail::from(e),
        DriverError::Store(SaveError::NotAToken) => {
            Fail::Network("the answer holds a token with characters no token has: refused".into())
        }
        DriverError::GaveUp { failing_for, last } => {
            let last = client_failure(ctx, last);
            Fail::Network(format!(
                "gave up after {} of failed requests with no usable code: {}",
                span(failing_for.as_secs()),
                last.message()
            ))
        }
        e @ DriverError::NotReady { .. } => Fail::Network(e.to_string()),
        e => Fail::Config(e.to_string()),
    }
}

/// Not signed in as the command's client: say which client the store holds, if another.
fn not_signed_in_as(ctx: &Ctx) -> Fail {
    let path = ctx.store.location();
    let other = ctx
        .store
        .load()
        .ok()
        .flatten()
        .filter(|s| !s.refresh_token.is_empty())
        .map(|s| s.client_id.clone())
        .filter(|held| ctx.client_id.as_deref().is_some_and(|asked| asked != held));
    match (other, ctx.client_id.as_deref()) {
        (Some(held), Some(asked)) => Fail::Config(format!(
            "not signed in as client {}: {path} holds the tokens of client {} (pass \
             --client-id {} to use them, or sign in as {} with `lwa device-login` or `lwa \
             exchange`)",
            escaped(asked),
            escaped(&held),
            escaped(&held),
            escaped(asked)
        )),
        _ => Fail::Config(format!(
            "not signed in: no refresh token stored in {path} (run `lwa device-login` or \
             `lwa exchange`)"
        )),
    }
}

/// A store that could not be opened for a session.
pub(crate) fn store_failure(e: DriverError<StoreError>) -> Fail {
    match e {
        DriverError::Store(e) => Fail::from(e),
        other => Fail::Config(format!("token store: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_are_the_documented_ones() {
        assert_eq!(Fail::OAuth("x".into()).code(), 1);
        assert_eq!(Fail::Config("x".into()).code(), 2);
        assert_eq!(Fail::Network("x".into()).code(), 3);
        assert_eq!(Fail::Silent(2).code(), 2);
        assert_eq!(Fail::Silent(2).message(), "");
    }

    #[test]
    fn a_dead_refresh_token_says_to_sign_in_again() {
        let r = Refusal {
            status: 400,
            code: "invalid_grant".into(),
            description: None,
        };
        let Fail::OAuth(text) = refusal(&r, Doing::Refresh) else {
            panic!("not an OAuth failure");
        };
        assert_eq!(
            text,
            "invalid_grant (HTTP 400); the refresh token is no longer valid (the device was \
             removed or the token revoked): sign in again with `lwa device-login` or `lwa \
             exchange`"
        );
        let Fail::OAuth(text) = refusal(&r, Doing::Linking) else {
            panic!("not an OAuth failure");
        };
        assert_eq!(text, "invalid_grant (HTTP 400)");
    }
}
