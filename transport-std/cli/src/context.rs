//! What the subcommands share: the client and store the options name, the session opened
//! over the store, secrets read from stdin, and the tokens a session handed out.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lwa_std::client::Client;
use lwa_std::core::endpoint::{Endpoint, Region};
use lwa_std::core::secret::Secret;
use lwa_std::core::session::{Config, TokenStore, Tokens};
use lwa_std::driver::{Driver, Restore};
use lwa_std::proxy::{NoProxy, Proxy};
use lwa_std::store::{FileStore, SessionStore, StoreError, StoredTokens};
use zeroize::Zeroizing;

use crate::args::{Cli, Command, Global, RegionArg};
use crate::fail::{Fail, store_failure};
use crate::output::printable;
use crate::text::{local_time, span};

/// The most text read from stdin for a secret given as `-`.
const MAX_STDIN_SECRET: u64 = 16 * 1024;

/// Replaces the one secret given as `-` (`--refresh-token`, `--code`, `--code-verifier`,
/// `--client-secret`) with the first line of stdin, so that it never appears in the
/// process's arguments, which every user can read (`ps`).
pub(crate) fn secret_from_stdin(cli: &mut Cli) -> Result<(), Fail> {
    use std::io::Read as _;
    let mut slots: Vec<(&str, &mut String)> = Vec::new();
    if let Some(secret) = cli.global.client_secret.as_mut() {
        slots.push(("--client-secret", secret));
    }
    match &mut cli.command {
        Command::Exchange {
            code,
            code_verifier,
            ..
        } => {
            slots.push(("--code", code));
            if let Some(verifier) = code_verifier.as_mut() {
                slots.push(("--code-verifier", verifier));
            }
        }
        Command::Refresh {
            refresh_token: Some(token),
        } => slots.push(("--refresh-token", token)),
        _ => {}
    }
    let mut dashes = slots.into_iter().filter(|(_, value)| value.as_str() == "-");
    let Some((flag, slot)) = dashes.next() else {
        return Ok(());
    };
    if let Some((other, _)) = dashes.next() {
        return Err(Fail::Config(format!(
            "{flag} and {other} are both '-': only one secret can come from stdin"
        )));
    }
    let mut text = zeroize::Zeroizing::new(String::new());
    std::io::stdin()
        .take(MAX_STDIN_SECRET)
        .read_to_string(&mut text)
        .map_err(|e| Fail::Config(format!("{flag} -: cannot read stdin: {e}")))?;
    let line = text.lines().next().unwrap_or("").trim();
    if line.is_empty() {
        return Err(Fail::Config(format!("{flag} -: stdin holds no value")));
    }
    slot.clear();
    slot.push_str(line);
    Ok(())
}

/// What every network subcommand needs.
pub(crate) struct Ctx {
    pub(crate) client: Client,
    pub(crate) store: FileStore,
    pub(crate) client_id: Option<String>,
    pub(crate) client_secret: Option<String>,
    pub(crate) json: bool,
}

impl Ctx {
    pub(crate) fn new(g: &Global, extra_ca_pem: Option<&str>) -> Result<Self, Fail> {
        let endpoint = endpoint_of(g)?;
        let mut builder = Client::builder(&endpoint)
            .timeout(Duration::from_secs(g.timeout))
            .exchange_timeout(Duration::from_secs(g.exchange_timeout))
            .user_agent(concat!("lwa/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = &g.ca_file {
            builder = builder.add_ca_file(path)?;
        }
        if let Some(pem) = extra_ca_pem {
            builder = builder.add_ca_pem(pem)?;
        }
        let client = builder.proxy(proxy_of(g, &endpoint)?).build()?;
        let store = match &g.store {
            Some(p) => p.clone(),
            None => default_store()?,
        };
        Ok(Self {
            client,
            store: FileStore::new(store).lock_timeout(Duration::from_secs(g.lock_timeout)),
            client_id: g.client_id.clone().filter(|s| !s.is_empty()),
            client_secret: g.client_secret.clone().filter(|s| !s.is_empty()),
            json: g.json,
        })
    }

    /// The session's configuration for `client_id`, with the client secret if any.
    pub(crate) fn config<'a>(&'a self, client_id: &'a str) -> Config<'a> {
        Config {
            client_secret: self.client_secret.as_deref().map(Secret::new),
            ..Config::new(client_id)
        }
    }

    /// The client ID: the flag or environment, else the store's.
    pub(crate) fn client_id(&self, stored: Option<&StoredTokens>) -> Result<String, Fail> {
        self.client_id
            .clone()
            .or_else(|| {
                stored
                    .map(|s| s.client_id.clone())
                    .filter(|s| !s.is_empty())
            })
            .ok_or_else(|| {
                Fail::Config("no client ID: pass --client-id or set LWA_CLIENT_ID".into())
            })
    }
}

/// The proxy connections to `endpoint` go through: `--proxy none` for none, `--proxy URL`
/// (with `NO_PROXY`'s hosts going around it, as curl does), else the environment's, read
/// as the library reads it; none for plain `http://`, and none for a host `NO_PROXY`
/// lists. The URL is never repeated in an error: it may hold a password.
pub(crate) fn proxy_of(g: &Global, endpoint: &Endpoint<'_>) -> Result<Option<Proxy>, Fail> {
    let proxy = match g.proxy.as_deref() {
        Some(none) if none.eq_ignore_ascii_case("none") => None,
        // Checked even for plain http://: it was typed to be used.
        Some(url) => {
            let proxy = Proxy::parse(url).map_err(|e| Fail::Config(format!("--proxy: {e}")))?;
            Some(proxy.with_no_proxy(NoProxy::from_env()))
        }
        None if !endpoint.is_tls() => None,
        None => Proxy::from_env().map_err(|e| {
            Fail::Config(format!(
                "proxy from the environment: {e}; fix it, or pass --proxy URL or --proxy none"
            ))
        })?,
    };
    Ok(proxy.filter(|p| endpoint.is_tls() && p.is_used_for(endpoint.host())))
}

/// The endpoint the options name: `--endpoint`, else the region's.
pub(crate) fn endpoint_of(g: &Global) -> Result<Endpoint<'_>, Fail> {
    match &g.endpoint {
        Some(origin) => Endpoint::parse_origin(origin)
            .map_err(|e| Fail::Config(format!("--endpoint {origin}: {e}"))),
        None => Ok(Endpoint::region(match g.region {
            RegionArg::Na => Region::Na,
            RegionArg::Eu => Region::Eu,
            RegionArg::Fe => Region::Fe,
        })),
    }
}

/// The store when none is given: `<config dir>/lwa/tokens.json`.
fn default_store() -> Result<PathBuf, Fail> {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let base = if cfg!(target_os = "macos") {
        env("HOME").map(|h| h.join("Library/Application Support"))
    } else if cfg!(windows) {
        env("APPDATA")
    } else {
        env("XDG_CONFIG_HOME").or_else(|| env("HOME").map(|h| h.join(".config")))
    };
    base.map(|b| b.join("lwa").join("tokens.json"))
        .ok_or_else(|| {
            Fail::Config("no store path: pass --store or set LWA_STORE (HOME is not set)".into())
        })
}

/// The store path of the command line, without building a client (status and logout send
/// nothing).
pub(crate) fn store_of(g: &Global) -> Result<FileStore, Fail> {
    let path = match &g.store {
        Some(p) => p.clone(),
        None => default_store()?,
    };
    Ok(FileStore::new(path).lock_timeout(Duration::from_secs(g.lock_timeout)))
}

/// Tokens a session handed out, ready to print.
pub(crate) struct Fresh {
    pub(crate) access: Zeroizing<String>,
    pub(crate) refresh: Zeroizing<String>,
    /// Unix seconds.
    pub(crate) expires_at: u64,
    /// Seconds left, rounded up.
    pub(crate) expires_in: u64,
}

impl Fresh {
    pub(crate) fn of<S: TokenStore>(driver: &Driver<'_, S>, access: Zeroizing<String>) -> Self {
        let expires = driver.access_expires_at();
        let unix = |t: SystemTime| t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let left = expires
            .and_then(|at| at.duration_since(SystemTime::now()).ok())
            .unwrap_or_default();
        Self {
            access,
            refresh: Zeroizing::new(
                driver
                    .session()
                    .refresh_token()
                    .map(|t| t.expose().to_owned())
                    .unwrap_or_default(),
            ),
            expires_at: expires.map_or(0, unix),
            expires_in: left.as_secs() + u64::from(left.subsec_nanos() > 0),
        }
    }
}

pub(crate) fn print_fresh(ctx: &Ctx, fresh: &Fresh, what: &str) -> Result<(), Fail> {
    if ctx.json {
        let json = serde_json::json!({
            "access_token": fresh.access.as_str(),
            "refresh_token": fresh.refresh.as_str(),
            "token_type": "bearer",
            "expires_in": fresh.expires_in,
            "expires_at": fresh.expires_at,
        });
        outln!("{json}")?;
    } else {
        outln!(
            "{what}: access token valid for {} (until {}); tokens saved to {}",
            span(fresh.expires_in),
            local_time(fresh.expires_at),
            ctx.store.path().display()
        )?;
    }
    Ok(())
}

/// Why the command's store refused to save: the store failed, or a token holds
/// characters no token has (it would reach a terminal or a script).
#[derive(Debug)]
pub(crate) enum SaveError {
    Store(StoreError),
    NotAToken,
}

impl std::fmt::Display for SaveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Store(e) => write!(f, "{e}"),
            Self::NotAToken => f.write_str("a token holds characters no token has: refused"),
        }
    }
}

/// The session's store, refusing tokens that could not be printed: nothing is saved that
/// `lwa token` would refuse to print.
#[derive(Debug)]
pub(crate) struct Checked(SessionStore);

impl TokenStore for Checked {
    type Error = SaveError;

    fn store(&mut self, tokens: &Tokens<'_>) -> Result<(), SaveError> {
        let access = tokens.access_token.map_or("", |(t, _)| t.expose());
        if printable(access).is_err() || printable(tokens.refresh_token.expose()).is_err() {
            return Err(SaveError::NotAToken);
        }
        self.0.store(tokens).map_err(SaveError::Store)
    }

    fn forget(&mut self) -> Result<(), SaveError> {
        self.0.forget().map_err(SaveError::Store)
    }
}

/// A session for the command's client ID over its store, restored as `restore` says; with
/// `locked`, the store's lock is held until the driver is dropped.
pub(crate) fn open<'c>(
    ctx: &Ctx,
    config: Config<'c>,
    restore: Restore,
    locked: bool,
) -> Result<Driver<'c, Checked>, Fail> {
    let store = ctx.store.clone();
    let driver = if locked {
        Driver::open_locked(ctx.client.clone(), config, store, restore)
    } else {
        Driver::open(ctx.client.clone(), config, store, restore)
    };
    Ok(driver.map_err(store_failure)?.with_store(Checked))
}
