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
use lwa_std::store::{
    DEFAULT_KEYRING_NAME, FileStore, Location, SessionStore, StoreError, StoredTokens,
    is_keyring_name,
};
use zeroize::Zeroizing;

use crate::args::{Cli, Command, Global, RegionArg};
use crate::fail::{Fail, store_failure};
use crate::output::{escaped, printable};
use crate::text::{local_time, rfc3339, span};

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
    /// The CA file the client trusts besides the public roots, absolute: recorded with the
    /// tokens it gets.
    pub(crate) ca_file: Option<PathBuf>,
    pub(crate) client_id: Option<String>,
    pub(crate) client_secret: Option<String>,
    pub(crate) json: bool,
}

/// What a subcommand sends, which decides where it may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sends {
    /// A new sign-in (a code, a device code, a refresh token given on the command line):
    /// to the origin the options name.
    NewSignIn,
    /// The stored refresh token: to the origin that issued it unless the options name
    /// another and `--allow-other-origin` says so.
    StoredToken,
}

impl Ctx {
    pub(crate) fn new(g: &Global, extra_ca_pem: Option<&str>, sends: Sends) -> Result<Self, Fail> {
        let store = store_of(g)?;
        let stored = match sends {
            Sends::NewSignIn => None,
            Sends::StoredToken => store.load()?,
        };
        let (origin, ca_file) = target(g, stored.as_ref())?;
        let endpoint = Endpoint::parse_origin(&origin)
            .map_err(|e| Fail::Config(format!("--endpoint {origin}: {e}")))?;
        let mut builder = Client::builder(&endpoint)
            .timeout(Duration::from_secs(g.timeout))
            .exchange_timeout(Duration::from_secs(g.exchange_timeout))
            .user_agent(concat!("lwa/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = &ca_file {
            builder = builder.add_ca_file(path)?;
        }
        if let Some(pem) = extra_ca_pem {
            builder = builder.add_ca_pem(pem)?;
        }
        let client = builder.proxy(proxy_of(g, &endpoint)?).build()?;
        // Before anything is sent: a sign-in whose tokens cannot be saved is of no use.
        store.reachable()?;
        Ok(Self {
            client,
            store,
            ca_file,
            client_id: g.client_id.clone().filter(|s| !s.is_empty()),
            client_secret: g.client_secret.clone().filter(|s| !s.is_empty()),
            json: g.json,
        })
    }

    /// The session's configuration for `client_id`, with the client secret if any.
    pub(crate) fn config<'a>(&'a self, client_id: &'a str) -> Config<'a> {
        Config {
            client_secret: self.client_secret.as_deref().map(Secret::new),
            // The next `lwa token` is a new process: it serves a stored, valid access token.
            keep_access_tokens: true,
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

/// The endpoint the options name: `--endpoint` (or `LWA_ENDPOINT`), else the region's
/// (`na` when none is given).
pub(crate) fn endpoint_of(g: &Global) -> Result<Endpoint<'_>, Fail> {
    match &g.endpoint {
        Some(origin) => Endpoint::parse_origin(origin)
            .map_err(|e| Fail::Config(format!("--endpoint {origin}: {e}"))),
        None => Ok(Endpoint::region(match g.region.unwrap_or(RegionArg::Na) {
            RegionArg::Na => Region::Na,
            RegionArg::Eu => Region::Eu,
            RegionArg::Fe => Region::Fe,
        })),
    }
}

/// Where the requests go and which CA file is trusted: what the options name, else, for a
/// stored refresh token, the origin and CA file recorded with it. A stored token is never
/// sent to another origin than the one that issued it unless `--allow-other-origin` says so.
fn target(g: &Global, stored: Option<&StoredTokens>) -> Result<(String, Option<PathBuf>), Fail> {
    let named = endpoint_of(g)?.to_string();
    let explicit = g.endpoint.is_some() || g.region.is_some();
    let issuer = stored
        .filter(|s| !s.refresh_token.is_empty())
        .and_then(|s| s.origin.as_deref())
        .map(|o| {
            Endpoint::parse_origin(o)
                .map(|e| e.to_string())
                .map_err(|e| {
                    Fail::Config(format!(
                        "the store records an origin that is not one ({e}): {}",
                        escaped(o)
                    ))
                })
        })
        .transpose()?;
    let origin = match &issuer {
        Some(issuer) if !explicit => issuer.clone(),
        Some(issuer) if *issuer != named && !g.allow_other_origin => {
            return Err(Fail::Config(format!(
                "the stored tokens were issued by {issuer}, and this would send the refresh \
                 token to {named}: drop --endpoint/--region (and LWA_ENDPOINT) to use {issuer}, \
                 or pass --allow-other-origin if {named} should get it"
            )));
        }
        _ => named,
    };
    let ca_file = match &g.ca_file {
        Some(path) => Some(absolute(path)?),
        None => stored
            .filter(|_| issuer.as_deref() == Some(origin.as_str()))
            .and_then(|s| s.ca_file.clone()),
    };
    Ok((origin, ca_file))
}

/// `path` made absolute, so that the store's record of it holds from any directory.
fn absolute(path: &std::path::Path) -> Result<PathBuf, Fail> {
    std::path::absolute(path)
        .map_err(|e| Fail::Config(format!("--ca-file {}: {e}", path.display())))
}

/// lwa's directory in the user's configuration directory: `$XDG_CONFIG_HOME/lwa`, else
/// `~/.config/lwa` (macOS: `~/Library/Application Support/lwa`; Windows: `%APPDATA%\lwa`).
/// `None` when the variables it comes from are not set.
pub(crate) fn config_dir() -> Option<PathBuf> {
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
    base.map(|b| b.join("lwa"))
}

/// The store the command line names (`--store PATH`, `--store keyring[:NAME]`, the same in
/// LWA_STORE, else `<config dir>/lwa/tokens.json`), without building a client (status and
/// logout send nothing).
pub(crate) fn store_of(g: &Global) -> Result<FileStore, Fail> {
    let no_home = |what: &str| {
        Fail::Config(format!(
            "no {what}: pass --store or set LWA_STORE (HOME is not set)"
        ))
    };
    let store = match g.store.as_deref() {
        None => FileStore::new(
            config_dir()
                .ok_or_else(|| no_home("store path"))?
                .join("tokens.json"),
        ),
        Some(arg) if arg.is_empty() => {
            return Err(Fail::Config(
                "--store needs a path or keyring[:NAME]".into(),
            ));
        }
        Some(arg) => match arg.to_str().and_then(keyring_name) {
            Some(name) => {
                if !is_keyring_name(name) {
                    return Err(Fail::Config(format!(
                        "--store keyring:NAME: {}",
                        StoreError::KeyringName
                    )));
                }
                // The lock file of a keyring store: a directory that is lwa's alone.
                let lock_dir = config_dir()
                    .ok_or_else(|| no_home("directory for the keyring store's lock file"))?;
                FileStore::keyring(name, lock_dir)?
            }
            None => FileStore::new(PathBuf::from(arg)),
        },
    };
    Ok(store.lock_timeout(Duration::from_secs(g.lock_timeout)))
}

/// The entry name of `keyring` or `keyring:NAME` (a file of that name is `./keyring`).
fn keyring_name(arg: &str) -> Option<&str> {
    if arg == "keyring" {
        Some(DEFAULT_KEYRING_NAME)
    } else {
        arg.strip_prefix("keyring:")
    }
}

/// "not signed in" for the store at `location`.
pub(crate) fn not_signed_in(location: Location<'_>) -> Fail {
    let what = match location {
        Location::Keyring(_) => format!("no tokens in {location}"),
        _ => format!("{location} does not exist"),
    };
    Fail::Config(format!(
        "not signed in: {what} (run `lwa device-login` or `lwa exchange`)"
    ))
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
            "expires_at_rfc3339": rfc3339(fresh.expires_at),
        });
        outln!("{json}")?;
    } else {
        outln!(
            "{what}: access token valid for {} (until {}); tokens saved to {}",
            span(fresh.expires_in),
            local_time(fresh.expires_at),
            ctx.store.location()
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
pub(crate) struct Checked {
    store: SessionStore,
    /// Whether a refresh token the session forgets is deleted from the store: not when the
    /// token came from the command line (the store holds another).
    forget: bool,
}

impl Checked {
    /// This store, leaving what it holds in place when the session forgets its token.
    pub(crate) fn keeping(self) -> Self {
        Self {
            forget: false,
            ..self
        }
    }
}

impl TokenStore for Checked {
    type Error = SaveError;

    fn store(&mut self, tokens: &Tokens<'_>) -> Result<(), SaveError> {
        let access = tokens.access_token.map_or("", |(t, _)| t.expose());
        if printable(access).is_err() || printable(tokens.refresh_token.expose()).is_err() {
            return Err(SaveError::NotAToken);
        }
        self.store.store(tokens).map_err(SaveError::Store)
    }

    fn forget(&mut self) -> Result<(), SaveError> {
        if !self.forget {
            return Ok(());
        }
        self.store.forget().map_err(SaveError::Store)
    }
}

/// A session for the command's client ID over its store, restored as `restore` says; with
/// `locked`, the store's lock is held until the driver is dropped. The tokens it stores
/// record the client's origin and the CA file it trusts.
pub(crate) fn open<'c>(
    ctx: &Ctx,
    config: Config<'c>,
    restore: Restore,
    locked: bool,
) -> Result<Driver<'c, Checked>, Fail> {
    let file = ctx.store.clone();
    let store = if locked {
        SessionStore::locked(file, config.client_id).map_err(Fail::from)?
    } else {
        SessionStore::new(file, config.client_id)
    }
    .with_ca_file(ctx.ca_file.clone());
    let driver = Driver::open_with(ctx.client.clone(), config, store, restore);
    Ok(driver.map_err(store_failure)?.with_store(|store| Checked {
        store,
        forget: true,
    }))
}
