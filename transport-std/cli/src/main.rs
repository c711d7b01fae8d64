//! `lwa`: get and keep Login-with-Amazon tokens from the command line.
//!
//! Exit codes: 0 success; 1 LWA answered with an OAuth error; 2 usage or configuration
//! error (a refused store and not being signed in included); 3 network, TLS, timeout or
//! protocol failure, a store lock held too long by another lwa, or a closed or full stdout
//! (reported after the store was saved). Every other failure leaves the token store as it
//! was. Errors say what to do; with `--json` they are one JSON object on stderr,
//! `{"error": ..., "exit": N}`. Without `--json`, tokens and secrets never appear in the
//! output; `lwa token` prints the access token alone, which is its job. Whatever a server
//! said is printed with its control characters escaped; usage errors do not repeat what
//! was typed.

use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::{Args, Parser, Subcommand, ValueEnum};
use lwa_std::client::{Client, Error as ClientError};
use lwa_std::core::endpoint::{Endpoint, Region};
use lwa_std::core::error::PkceError;
use lwa_std::core::pkce::{CHALLENGE_METHOD, CodeVerifier};
use lwa_std::core::secret::Secret;
use lwa_std::core::session::{AuthorizationCode, Config, Linking, TokenStore, Tokens};
use lwa_std::driver::{Driver, DriverError, Event, Refusal, Restore};
use lwa_std::store::{FileStore, SessionStore, StoreError, StoredTokens};
use zeroize::Zeroizing;

/// Writes a line to stdout. A closed or full stdout is a failure (exit 3) reported through
/// the caller's `?`, never a panic; every caller saves the store before it prints.
macro_rules! outln {
    () => {
        emit(format_args!(""))
    };
    ($($arg:tt)*) => {
        emit(format_args!($($arg)*))
    };
}

/// Writes a line to stderr, ignoring a closed stderr (there is nobody to tell).
macro_rules! errln {
    () => {
        note(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        note(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// Writes to stderr without a line end, ignoring a closed stderr.
macro_rules! errp {
    ($($arg:tt)*) => {
        note(format_args!($($arg)*))
    };
}

mod probe;

fn emit(line: std::fmt::Arguments<'_>) -> Result<(), Fail> {
    let mut out = std::io::stdout().lock();
    out.write_fmt(line)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush())
        .map_err(|e| Fail::Network(format!("cannot write to stdout: {e}")))
}

fn note(text: std::fmt::Arguments<'_>) {
    let mut err = std::io::stderr().lock();
    // A closed or full stderr: the exit code still tells.
    let _ = err.write_fmt(text).and_then(|()| err.flush());
}

/// Whether device-login's countdown line is on the terminal without its line end.
static COUNTDOWN_OPEN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// On Ctrl-C (SIGINT), SIGTERM or SIGHUP: ends an open countdown line, so that the shell's
/// prompt starts on a line of its own, then dies of the signal as if it were not handled.
fn end_countdown_on_interrupt() {
    #[cfg(unix)]
    {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
            // Without the handler Ctrl-C still stops lwa; only the line stays open.
            return;
        };
        std::thread::spawn(move || {
            if let Some(signal) = signals.forever().next() {
                // Held until the process ends: no countdown is written after the line end.
                let mut err = std::io::stderr().lock();
                if COUNTDOWN_OPEN.swap(false, std::sync::atomic::Ordering::SeqCst) {
                    let _ = err.write_all(b"\n").and_then(|()| err.flush());
                }
                let _ = signal_hook::low_level::emulate_default_handler(signal);
                std::process::exit(128 + signal);
            }
        });
    }
}

#[derive(Parser, Debug)]
#[command(
    name = "lwa",
    version,
    about = "Get and keep Login-with-Amazon tokens for Alexa devices"
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Debug, Clone)]
struct Global {
    /// LWA region.
    #[arg(long, global = true, help_heading = "Global options", value_enum, default_value_t = RegionArg::Na)]
    region: RegionArg,
    /// Origin overriding the region, scheme://host[:port]; http:// only for loopback hosts.
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_name = "ORIGIN"
    )]
    endpoint: Option<String>,
    /// Extra trusted CA certificates (PEM).
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_name = "PEM"
    )]
    ca_file: Option<PathBuf>,
    /// Connect, read and write timeout in seconds.
    #[arg(long, global = true, help_heading = "Global options", value_name = "SECONDS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    timeout: u64,
    /// Bound in seconds on a whole exchange: connecting, the TLS handshake, writing the
    /// request and reading the answer all end by it.
    #[arg(long, global = true, help_heading = "Global options", value_name = "SECONDS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    exchange_timeout: u64,
    /// How long to wait, in seconds, for another lwa that is updating the store; a valid
    /// stored token is served without waiting.
    #[arg(long, global = true, help_heading = "Global options", value_name = "SECONDS", default_value_t = 75,
          value_parser = clap::value_parser!(u64).range(0..=3600))]
    lock_timeout: u64,
    /// Token store [default: $LWA_STORE, else <config dir>/lwa/tokens.json].
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_name = "PATH",
        env = "LWA_STORE"
    )]
    store: Option<PathBuf>,
    /// Client ID [default: $LWA_CLIENT_ID, else the store's].
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_name = "ID",
        env = "LWA_CLIENT_ID"
    )]
    client_id: Option<String>,
    /// Client secret, for clients that have one [default: $LWA_CLIENT_SECRET]; `-` reads it
    /// from stdin.
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_name = "SECRET",
        env = "LWA_CLIENT_SECRET",
        hide_env_values = true
    )]
    client_secret: Option<String>,
    /// Print the result as one JSON object on stdout.
    #[arg(long, global = true, help_heading = "Global options")]
    json: bool,
}

#[derive(ValueEnum, Debug, Clone, Copy)]
enum RegionArg {
    Na,
    Eu,
    Fe,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Trade an authorization code for tokens and save them.
    Exchange {
        /// The authorization code; `-` reads it from stdin (arguments are visible to every
        /// user through `ps`; stdin and the environment are not).
        #[arg(long, env = "LWA_CODE", hide_env_values = true)]
        code: String,
        /// The redirect URI of the authorization request.
        #[arg(long)]
        redirect_uri: String,
        /// PKCE code verifier (public clients without a secret); `-` reads it from stdin.
        #[arg(long, env = "LWA_CODE_VERIFIER", hide_env_values = true)]
        code_verifier: Option<String>,
    },
    /// Refresh the access token and save the tokens.
    Refresh {
        /// Refresh token to use instead of the stored one; `-` reads it from stdin
        /// (arguments are visible to every user through `ps`; stdin and the environment
        /// are not).
        #[arg(long, env = "LWA_REFRESH_TOKEN", hide_env_values = true)]
        refresh_token: Option<String>,
    },
    /// Print a valid access token, refreshing first only if it expires within 10 minutes.
    Token,
    /// Sign in by code-based linking: show a code, wait for the user, save the tokens.
    DeviceLogin {
        /// AVS product ID.
        #[arg(long)]
        product_id: String,
        /// Device serial number (DSN).
        #[arg(long)]
        serial: String,
        /// Scope (code-based linking for AVS uses alexa:all).
        #[arg(long, default_value = "alexa:all")]
        scope: String,
        /// How long failing requests are retried, in seconds, while no code shown can still
        /// be entered (before the first code, after the last one expired); then exit 3.
        #[arg(long, value_name = "SECONDS", default_value_t = 120,
              value_parser = clap::value_parser!(u64).range(0..=86400))]
        retry_for: u64,
        /// When stderr is not a terminal (a log, a pipe): a progress line every SECONDS
        /// while the code waits to be entered, instead of the countdown.
        #[arg(long, value_name = "SECONDS", default_value_t = 30,
              value_parser = clap::value_parser!(u64).range(1..=3600))]
        progress_every: u64,
    },
    /// Say whether the store holds a sign-in, for which client, until when.
    ///
    /// Prints the client ID, when the access token expires (a local date and "in 47 min")
    /// and the store's path; exit 0 when signed in, 2 when not. Nothing is sent.
    Status,
    /// Forget the stored tokens (delete the store).
    ///
    /// The device stays linked in the Amazon account until it is removed there.
    Logout,
    /// Print a new PKCE code_verifier and its S256 code_challenge.
    Pkce,
    /// Check whether a device would connect to the LWA host, with the device's TLS code.
    ///
    /// Connects with lwa-embedded's TLS (TLS 1.3, TLS_AES_128_GCM_SHA256, P-256, its
    /// signature schemes, webpki path building) and its default trust anchors, or the
    /// device's own (--anchors), and reports the TLS version, cipher suite, key exchange,
    /// every certificate sent, the anchor the path leads to, and a verdict with the reason.
    /// Exit 0 a device would connect, 1 it would not, 3 the host cannot be reached. Sends
    /// nothing but TLS handshakes.
    Probe {
        /// PEM certificates to trust instead of lwa-embedded's default set (a device's own
        /// anchors).
        #[arg(long, value_name = "PEM")]
        anchors: Option<PathBuf>,
    },
    /// Run the local LWA look-alike until interrupted.
    ///
    /// Besides LWA's endpoints it answers test controls: GET or POST /mock/approve?user_code=CODE
    /// approves a device code; POST /mock/revoke revokes every refresh token ({"revoked":N});
    /// POST /mock/rotate?on=1 or ?on=0 turns refresh-token rotation on or off
    /// ({"rotate":true|false}); GET /mock/stats counts requests to LWA's endpoints
    /// ({"requests":N}).
    MockServer(MockArgs),
    /// Walk through device-login, refresh and token against the built-in look-alike.
    Demo,
}

/// `lwa mock-server`'s options.
#[derive(Args, Debug)]
struct MockArgs {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Serve HTTPS with a certificate from a CA made for this run.
    #[arg(long)]
    tls: bool,
    /// Certificate chain. Besides p256 and rsa, look-alikes of the shapes of chains under
    /// the public roots a device may meet on LWA's hosts (algorithms, key sizes,
    /// extensions), made with test keys; the server never sends the root, and --ca-out gets the one to trust. With --tls.
    #[arg(long, value_enum, default_value_t = ChainArg::P256, requires = "tls")]
    chain: ChainArg,
    /// A DNS name or IP address for the server certificate; repeat for more. Replaces the
    /// default names localhost, 127.0.0.1 and ::1 (the printed origin stays
    /// https://localhost:PORT). With --tls.
    #[arg(long = "name", value_name = "NAME", requires = "tls")]
    names: Vec<String>,
    /// Approve a device code by itself after N polls answered authorization_pending (poll
    /// N+1 gets tokens).
    #[arg(long, value_name = "N")]
    approve_after_polls: Option<u32>,
    /// Polling interval in seconds handed out with a code pair; polling faster gets slow_down.
    #[arg(long, value_name = "SECONDS", default_value_t = 5)]
    poll_interval: u32,
    /// Start with refresh-token rotation on: every refresh hands out a new refresh token and
    /// revokes the old one (POST /mock/rotate changes it while running).
    #[arg(long)]
    rotate: bool,
    /// Write the CA certificate (PEM) to PATH instead of a file in the temporary directory.
    /// With --tls.
    #[arg(long, value_name = "PATH", requires = "tls")]
    ca_out: Option<PathBuf>,
}

#[derive(ValueEnum, Debug, Clone, Copy)]
enum ChainArg {
    /// ECDSA P-256 CA and leaf; sends the leaf
    P256,
    /// RSA 2048 root, intermediate and leaf; sends leaf and intermediate
    Rsa,
    /// like DigiCert Global Root G2 -> G2 TLS RSA SHA256 2020 CA1 -> leaf, RSA 2048
    #[value(name = "digicert-rsa")]
    DigicertRsa,
    /// like Amazon Root CA 1 -> Amazon RSA 2048 M02 -> leaf, RSA 2048
    #[value(name = "amazon-rsa")]
    AmazonRsa,
    /// like Amazon Root CA 2 -> Amazon RSA 4096 M02 -> leaf: RSA 4096 CAs (SHA-384), RSA 2048 leaf
    #[value(name = "amazon-rsa4096")]
    AmazonRsa4096,
    /// like Amazon Root CA 3 -> Amazon ECDSA 256 M02 -> leaf, P-256
    #[value(name = "amazon-p256")]
    AmazonP256,
    /// like Amazon Root CA 4 -> Amazon ECDSA 384 M02 -> leaf, P-384 (SHA-384)
    #[value(name = "amazon-p384")]
    AmazonP384,
    /// like leaf -> Amazon RSA 2048 M02 -> Amazon Root CA 1 cross-signed by Starfield
    /// Services Root G2, RSA 2048; sends those three, and only the Starfield root is trusted
    #[value(name = "cross-signed")]
    CrossSigned,
}

/// A failure and its exit code.
#[derive(Debug)]
enum Fail {
    /// 1: LWA answered with an OAuth error.
    OAuth(String),
    /// 2: usage or configuration.
    Config(String),
    /// 3: network, TLS, timeout or protocol.
    Network(String),
    /// This exit code, with nothing more to say (the output said it).
    Silent(u8),
}

impl Fail {
    fn code(&self) -> u8 {
        match self {
            Self::OAuth(_) => 1,
            Self::Config(_) => 2,
            Self::Network(_) => 3,
            Self::Silent(code) => *code,
        }
    }
    fn message(&self) -> &str {
        match self {
            Self::OAuth(m) | Self::Config(m) | Self::Network(m) => m,
            Self::Silent(_) => "",
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
            _ => Self::Config(format!("token store: {e}")),
        }
    }
}

fn main() -> ExitCode {
    let parsed = command().try_get_matches().and_then(|matches| {
        <Cli as clap::FromArgMatches>::from_arg_matches(&matches).map(|cli| (cli, matches))
    });
    let (mut cli, matches) = match parsed {
        Ok(parsed) => parsed,
        Err(e) => return usage_error(&e, json_requested()),
    };
    let json = cli.global.json;
    let result = refuse_unused_globals(&matches)
        .and_then(|()| secret_from_stdin(&mut cli))
        .and_then(|()| run(cli));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(fail) => report(&fail, json),
    }
}

/// The command line's definition, where a variable set but empty counts as unset
/// (`LWA_STORE=` in a script or a unit file means "no store given", not "the store ''"):
/// such an argument loses its variable before parsing.
fn command() -> clap::Command {
    use clap::CommandFactory as _;
    fn unbind_empty(arg: clap::Arg) -> clap::Arg {
        let empty = arg
            .get_env()
            .and_then(std::env::var_os)
            .is_some_and(|v| v.is_empty());
        if empty { arg.env(None) } else { arg }
    }
    let mut cmd = Cli::command().mut_args(unbind_empty);
    // Global options are copied into each subcommand here, so that each can hide those
    // it does not use.
    cmd.build();
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|c| c.get_name().to_owned())
        .collect();
    for name in names {
        let used = globals_of(&name);
        cmd = cmd.mut_subcommand(&name, |sub| {
            sub.mut_args(|arg| {
                let id = arg.get_id().as_str();
                let hide = GLOBALS.contains(&id) && !used.contains(&id);
                unbind_empty(arg).hide(hide)
            })
        });
    }
    cmd
}

/// The global options, by id (clap's ids are the field names).
const GLOBALS: [&str; 10] = [
    "region",
    "endpoint",
    "ca_file",
    "timeout",
    "exchange_timeout",
    "lock_timeout",
    "store",
    "client_id",
    "client_secret",
    "json",
];

/// The global options a subcommand uses; the others are hidden from its help and refused
/// on its command line.
fn globals_of(subcommand: &str) -> &'static [&'static str] {
    match subcommand {
        "status" => &["store", "json"],
        "logout" => &["store", "lock_timeout", "json"],
        "pkce" => &["json"],
        "probe" => &["region", "endpoint", "timeout", "exchange_timeout", "json"],
        // The look-alike's own client: the one it accepts.
        "mock-server" => &["client_id", "client_secret"],
        "demo" => &[],
        // exchange, refresh, token, device-login.
        _ => &GLOBALS,
    }
}

/// Refuses a global option given on the command line to a subcommand that does not use it
/// (variables are not refused: one environment serves every subcommand).
fn refuse_unused_globals(matches: &clap::ArgMatches) -> Result<(), Fail> {
    let Some((name, sub)) = matches.subcommand() else {
        return Ok(());
    };
    let used = globals_of(name);
    for id in GLOBALS {
        let given = [matches, sub]
            .iter()
            .any(|m| m.value_source(id) == Some(clap::parser::ValueSource::CommandLine));
        if given && !used.contains(&id) {
            return Err(Fail::Config(format!(
                "--{}: `lwa {name}` does not use it",
                id.replace('_', "-")
            )));
        }
    }
    Ok(())
}

/// Whether `--json` is on the command line (for errors found before it is parsed).
fn json_requested() -> bool {
    std::env::args_os()
        .skip(1)
        .take_while(|a| a != "--")
        .any(|a| a == "--json")
}

/// Reports a failure on stderr (`lwa: message`, or with `--json` one JSON object
/// `{"error": message, "exit": code}`) and returns its exit code.
fn report(fail: &Fail, json: bool) -> ExitCode {
    let code = fail.code();
    match fail {
        Fail::Silent(_) => {}
        _ if json => errln!(
            "{}",
            serde_json::json!({"error": escaped(fail.message()), "exit": code})
        ),
        _ => errln!("lwa: {}", escaped(fail.message())),
    }
    ExitCode::from(code)
}

/// Reports a command line clap refused, without echoing what was typed: a token pasted
/// where no argument belongs must not be printed back. Flag names, valid values and the
/// usage line are ours and are shown.
fn usage_error(e: &clap::Error, json: bool) -> ExitCode {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let ours = matches!(
        e.kind(),
        ErrorKind::MissingRequiredArgument
            | ErrorKind::MissingSubcommand
            | ErrorKind::ArgumentConflict
    );
    if json && ours {
        // clap's first line: our own flag and subcommand names only.
        let text = e.render().to_string();
        let first = text.lines().next().unwrap_or_default();
        let message = first.strip_prefix("error: ").unwrap_or(first);
        return report(&Fail::Config(message.to_owned()), true);
    }
    // These carry only our own flag and subcommand names: clap's text is shown as it is.
    if ours
        || matches!(
            e.kind(),
            ErrorKind::DisplayHelp
                | ErrorKind::DisplayVersion
                | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
        )
    {
        let _ = e.print();
        return if e.use_stderr() {
            ExitCode::from(2)
        } else {
            ExitCode::SUCCESS
        };
    }
    let mut message = format!("error: {}", e.kind());
    // The flag concerned, when it is one: cut at '=' so that a value glued to it stays out.
    let flag = |arg: &String| -> Option<String> {
        arg.split('=')
            .next()
            .filter(|a| {
                a.starts_with('-')
                    && a.len() <= 48
                    && a.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
            })
            .map(str::to_owned)
    };
    let flags: Vec<String> = match e.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(arg)) => flag(arg).into_iter().collect(),
        Some(ContextValue::Strings(args)) => args.iter().filter_map(flag).collect(),
        _ => Vec::new(),
    };
    if !flags.is_empty() {
        message.push_str(&format!(": {}", flags.join(", ")));
    }
    if let Some(ContextValue::Strings(values)) = e.get(ContextKind::ValidValue) {
        message.push_str(&format!(" (possible values: {})", values.join(", ")));
    }
    if let Some(ContextValue::String(suggested)) = e.get(ContextKind::SuggestedArg) {
        message.push_str(&format!(" (a similar argument exists: {suggested})"));
    }
    if let Some(ContextValue::Strings(suggested)) = e.get(ContextKind::SuggestedSubcommand) {
        message.push_str(&format!(" (did you mean {}?)", suggested.join(" or ")));
    }
    if json {
        let message = message.strip_prefix("error: ").unwrap_or(&message);
        return report(&Fail::Config(message.to_owned()), true);
    }
    errln!("{}", escaped(&message));
    if let Some(ContextValue::StyledStr(usage)) = e.get(ContextKind::Usage) {
        errln!("\n{usage}");
    }
    errln!("\nFor more information, try '--help'.");
    ExitCode::from(2)
}

/// The most text read from stdin for a secret given as `-`.
const MAX_STDIN_SECRET: u64 = 16 * 1024;

/// Replaces the one secret given as `-` (`--refresh-token`, `--code`, `--code-verifier`,
/// `--client-secret`) with the first line of stdin, so that it never appears in the
/// process's arguments, which every user can read (`ps`).
fn secret_from_stdin(cli: &mut Cli) -> Result<(), Fail> {
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

fn run(cli: Cli) -> Result<(), Fail> {
    let g = &cli.global;
    match &cli.command {
        Command::Pkce => pkce(g),
        Command::Probe { anchors } => probe(g, anchors.as_deref()),
        Command::MockServer(args) => mock_server(g, args),
        Command::Demo => demo(g),
        Command::Exchange {
            code,
            redirect_uri,
            code_verifier,
        } => {
            let ctx = Ctx::new(g, None)?;
            exchange(&ctx, code, redirect_uri, code_verifier.as_deref())
        }
        Command::Refresh { refresh_token } => {
            let ctx = Ctx::new(g, None)?;
            refresh(&ctx, refresh_token.as_deref())
        }
        Command::Token => token(&Ctx::new(g, None)?),
        Command::Status => status(g),
        Command::Logout => logout(g),
        Command::DeviceLogin {
            product_id,
            serial,
            scope,
            retry_for,
            progress_every,
        } => {
            if scope != "alexa:all" {
                return Err(Fail::Config(format!(
                    "--scope {scope}: code-based linking for AVS takes alexa:all"
                )));
            }
            device_login(
                &Ctx::new(g, None)?,
                product_id,
                serial,
                Duration::from_secs(*retry_for),
                Duration::from_secs(*progress_every),
            )
        }
    }
}

/// What every network subcommand needs.
struct Ctx {
    client: Client,
    store: FileStore,
    client_id: Option<String>,
    client_secret: Option<String>,
    json: bool,
    /// Narrate each step (the demo).
    verbose: bool,
}

impl Ctx {
    fn new(g: &Global, extra_ca_pem: Option<&str>) -> Result<Self, Fail> {
        let endpoint = endpoint_of(g)?;
        let mut builder = Client::builder(&endpoint)
            .timeout(Duration::from_secs(g.timeout))
            .exchange_timeout(Duration::from_secs(g.exchange_timeout))
            .user_agent(concat!("lwa/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = &g.ca_file {
            builder = builder.add_ca_file(path)?;
        }
        if let Some(pem) = extra_ca_pem {
            builder = builder.add_ca_pem(pem.as_bytes())?;
        }
        let store = match &g.store {
            Some(p) => p.clone(),
            None => default_store()?,
        };
        Ok(Self {
            client: builder.build()?,
            store: FileStore::new(store).lock_timeout(Duration::from_secs(g.lock_timeout)),
            client_id: g.client_id.clone().filter(|s| !s.is_empty()),
            client_secret: g.client_secret.clone().filter(|s| !s.is_empty()),
            json: g.json,
            verbose: false,
        })
    }

    /// The session's configuration for `client_id`, with the client secret if any.
    fn config<'a>(&'a self, client_id: &'a str) -> Config<'a> {
        Config {
            client_secret: self.client_secret.as_deref().map(Secret::new),
            ..Config::new(client_id)
        }
    }

    /// The client ID: the flag or environment, else the store's.
    fn client_id(&self, stored: Option<&StoredTokens>) -> Result<String, Fail> {
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

    fn say(&self, text: &str) -> Result<(), Fail> {
        if self.verbose {
            outln!("{text}")?;
        }
        Ok(())
    }
}

/// The endpoint the options name: `--endpoint`, else the region's.
fn endpoint_of(g: &Global) -> Result<Endpoint<'_>, Fail> {
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

/// `lwa probe`: see [`probe::run`].
fn probe(g: &Global, anchors: Option<&std::path::Path>) -> Result<(), Fail> {
    let endpoint = endpoint_of(g)?;
    if !endpoint.is_tls() {
        return Err(Fail::Config(
            "--endpoint: lwa probe checks TLS; give an https:// origin".into(),
        ));
    }
    probe::run(&probe::Probe {
        host: endpoint.host(),
        port: endpoint.port(),
        anchors_file: anchors,
        timeout: Duration::from_secs(g.timeout),
        exchange_timeout: Duration::from_secs(g.exchange_timeout),
        json: g.json,
    })
}

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

/// Text for the terminal: every control character (C0, DEL, C1) and every bidirectional
/// formatting character is written as a Rust escape (`\u{1b}`, `\r`), so that text a server
/// sent (an `error_description`, a user code, a verification URI) cannot move the cursor,
/// clear the screen, set the window title or start a forged line.
fn escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let bidi = matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        if c.is_control() || bidi {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// A token as it may be printed: tokens are visible ASCII (RFC 6750's b64token), so one
/// holding anything else is refused rather than written to a terminal or a script.
fn printable(token: &str) -> Result<&str, Fail> {
    if token.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(token)
    } else {
        Err(Fail::Network(
            "the access token holds characters no token has: refused".into(),
        ))
    }
}

/// Tokens a session handed out, ready to print.
struct Fresh {
    access: Zeroizing<String>,
    refresh: Zeroizing<String>,
    /// Unix seconds.
    expires_at: u64,
    /// Seconds left, rounded up.
    expires_in: u64,
}

impl Fresh {
    fn of<S: TokenStore>(driver: &Driver<'_, S>, access: Zeroizing<String>) -> Self {
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

fn print_fresh(ctx: &Ctx, fresh: &Fresh, what: &str) -> Result<(), Fail> {
    if ctx.json {
        let json = serde_json::json!({
            "access_token": fresh.access.as_str(),
            "refresh_token": fresh.refresh.as_str(),
            "token_type": "bearer",
            "expires_in": fresh.expires_in,
            "expires_at": fresh.expires_at,
        });
        outln!("{json}")?;
    } else if !ctx.verbose {
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
enum SaveError {
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
struct Checked(SessionStore);

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
fn open<'c>(
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

fn store_failure(e: DriverError<StoreError>) -> Fail {
    match e {
        DriverError::Store(e) => Fail::from(e),
        other => Fail::Config(format!("token store: {other}")),
    }
}

/// What the command was doing, for the advice in its errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Doing {
    /// Refreshing (refresh, token).
    Refresh,
    /// Trading an authorization code (exchange).
    Exchange,
    /// Code-based linking (device-login).
    Linking,
}

/// What an OAuth error means for the person at the command, and what to do.
fn refusal(refusal: &Refusal, doing: Doing) -> Fail {
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
fn client_failure(ctx: &Ctx, e: ClientError) -> Fail {
    use rustls::{CertificateError, InvalidMessage};
    let endpoint = ctx.client.endpoint();
    let at = format!("{}:{}", endpoint.host(), endpoint.port());
    match &e {
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
        ClientError::Timeout => Fail::Network(format!(
            "timed out talking to {at} (see --timeout and --exchange-timeout)"
        )),
        _ => Fail::from(e),
    }
}

/// What a failed run of the session means for the person at the command.
fn failure(ctx: &Ctx, e: DriverError<SaveError>, doing: Doing) -> Fail {
    match e {
        DriverError::SignInRequired => Fail::Config(format!(
            "not signed in: no refresh token stored in {} (run `lwa device-login` or `lwa exchange`)",
            ctx.store.path().display()
        )),
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

fn exchange(ctx: &Ctx, code: &str, redirect_uri: &str, verifier: Option<&str>) -> Result<(), Fail> {
    let client_id = ctx.client_id(ctx.store.load()?.as_ref())?;
    if let Some(v) = verifier {
        // A verifier LWA must refuse is refused here, before the code is spent on it.
        CodeVerifier::new(v).map_err(|e| match e {
            PkceError::InvalidLength { len } => Fail::Config(format!(
                "--code-verifier: {len} characters; a PKCE code verifier has 43 to 128 \
                 (make one with `lwa pkce`)"
            )),
            e => Fail::Config(format!("--code-verifier: {e} (make one with `lwa pkce`)")),
        })?;
    }
    if verifier.is_none() && ctx.client_secret.is_none() {
        return Err(Fail::Config(
            "no client secret and no --code-verifier: pass one of them".into(),
        ));
    }
    let mut driver = open(ctx, ctx.config(&client_id), Restore::Nothing, true)?;
    driver.session_mut().authorization_code(AuthorizationCode {
        code: Secret::new(code),
        redirect_uri,
        code_verifier: verifier.map(Secret::new),
    });
    let access = driver
        .token_once(&mut |_| {})
        .map_err(|e| failure(ctx, e, Doing::Exchange))?;
    if driver.session().refresh_token().is_none() {
        return Err(Fail::Network(
            "the answer has no refresh token: nothing saved".into(),
        ));
    }
    print_fresh(ctx, &Fresh::of(&driver, access), "signed in")
}

fn refresh(ctx: &Ctx, refresh_token: Option<&str>) -> Result<(), Fail> {
    let client_id = ctx.client_id(ctx.store.load()?.as_ref())?;
    let mut driver = open(ctx, ctx.config(&client_id), Restore::RefreshToken, true)?;
    if let Some(token) = refresh_token.filter(|t| !t.is_empty()) {
        driver
            .session_mut()
            .restore_refresh_token(token)
            .map_err(|e| Fail::Config(format!("--refresh-token: {e}")))?;
    }
    let access = driver
        .token_once(&mut |_| {})
        .map_err(|e| failure(ctx, e, Doing::Refresh))?;
    print_fresh(ctx, &Fresh::of(&driver, access), "refreshed")
}

fn token(ctx: &Ctx) -> Result<(), Fail> {
    let not_signed_in = || {
        Fail::Config(format!(
            "not signed in: {} does not exist (run `lwa device-login` or `lwa exchange`)",
            ctx.store.path().display()
        ))
    };
    let stored = ctx.store.load()?.ok_or_else(not_signed_in)?;
    let client_id = ctx.client_id(Some(&stored))?;
    let serve = |driver: &Driver<'_, Checked>, token: Zeroizing<String>| {
        printable(&token)?;
        if ctx.json {
            let fresh = Fresh::of(driver, token);
            outln!(
                "{}",
                serde_json::json!({
                    "access_token": fresh.access.as_str(),
                    "token_type": "bearer",
                    "expires_in": fresh.expires_in,
                    "expires_at": fresh.expires_at,
                })
            )?;
        } else if !ctx.verbose {
            outln!("{}", token.as_str())?;
        }
        Ok(())
    };
    // A token the session hands out as it is is served without the lock: writers rename
    // whole files into place, so this never waits for another lwa in a slow refresh.
    let mut driver = open(ctx, ctx.config(&client_id), Restore::Tokens, false)?;
    if let Some(token) = driver.ready_token() {
        ctx.say("  the stored access token is valid for more than 10 minutes: no request sent")?;
        return serve(&driver, token);
    }
    drop(driver);
    // Under the lock: another lwa may have refreshed while this one waited for it.
    let mut driver = open(ctx, ctx.config(&client_id), Restore::Tokens, true)?;
    let mut sent = false;
    let token = driver
        .token_once(&mut |event| {
            if matches!(event, Event::Sending { .. }) {
                sent = true;
            }
        })
        .map_err(|e| failure(ctx, e, Doing::Refresh))?;
    ctx.say(if sent {
        "  the stored access token expired or expires within 10 minutes: refreshed first"
    } else {
        "  another lwa refreshed the stored access token meanwhile: no request sent"
    })?;
    serve(&driver, token)
}

fn device_login(
    ctx: &Ctx,
    product_id: &str,
    serial: &str,
    retry_for: Duration,
    progress_every: Duration,
) -> Result<(), Fail> {
    let client_id = match &ctx.client_id {
        Some(id) => id.clone(),
        None => ctx.client_id(ctx.store.load()?.as_ref())?,
    };
    let config = Config {
        linking: Some(Linking {
            product_id,
            device_serial_number: serial,
        }),
        ..ctx.config(&client_id)
    };
    let mut driver = open(ctx, config, Restore::Nothing, false)?.give_up_after(retry_for);
    let interactive = std::io::stderr().is_terminal();
    if interactive {
        end_countdown_on_interrupt();
    }
    let mut code_deadline: Option<std::time::Instant> = None;
    let mut last_progress = std::time::Instant::now();
    let mut last_failure: Option<String> = None;
    let result = driver.token(&mut |event| match event {
        Event::ShowCode {
            user_code,
            verification_uri,
            expires_in,
        } => {
            code_deadline = Some(std::time::Instant::now() + expires_in);
            COUNTDOWN_OPEN.store(false, std::sync::atomic::Ordering::SeqCst);
            errln!();
            errln!("  To sign in, open {}", escaped(verification_uri));
            errln!("  and enter the code:  {}", escaped(user_code));
            // A QR code is for a screen; in a log it is noise.
            if interactive && let Some(qr) = qr_code(verification_uri) {
                errln!("{qr}");
            }
            last_progress = std::time::Instant::now();
        }
        Event::Waiting { .. } => {
            let Some(deadline) = code_deadline else {
                return;
            };
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let (min, sec) = (left.as_secs() / 60, left.as_secs() % 60);
            if interactive {
                COUNTDOWN_OPEN.store(true, std::sync::atomic::Ordering::SeqCst);
                errp!("\r  waiting for you to enter the code ({min}:{sec:02} left)  ");
            } else if last_progress.elapsed() >= progress_every {
                // Without a terminal a line cannot be rewritten: one now and then.
                errln!("  waiting for you to enter the code ({min}:{sec:02} left)");
                last_progress = std::time::Instant::now();
            }
        }
        Event::Failed(e) => {
            let text = e.to_string();
            if last_failure.as_deref() != Some(&text) {
                COUNTDOWN_OPEN.store(false, std::sync::atomic::Ordering::SeqCst);
                errln!("\n  request failed, retrying: {}", escaped(&text));
                last_failure = Some(text);
            }
        }
        _ => {}
    });
    if interactive && code_deadline.is_some() {
        COUNTDOWN_OPEN.store(false, std::sync::atomic::Ordering::SeqCst);
        errln!();
    }
    let access = result.map_err(|e| failure(ctx, e, Doing::Linking))?;
    print_fresh(ctx, &Fresh::of(&driver, access), "signed in")
}

/// The store path of the command line, without building a client (status and logout send
/// nothing).
fn store_of(g: &Global) -> Result<FileStore, Fail> {
    let path = match &g.store {
        Some(p) => p.clone(),
        None => default_store()?,
    };
    Ok(FileStore::new(path).lock_timeout(Duration::from_secs(g.lock_timeout)))
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Unix seconds as a local date and time, `2026-11-30 14:05:09 +01:00`.
fn local_time(unix: u64) -> String {
    use chrono::TimeZone as _;
    i64::try_from(unix)
        .ok()
        .and_then(|secs| chrono::Local.timestamp_opt(secs, 0).single())
        .map_or_else(
            || format!("{unix} (Unix time)"),
            |t| t.format("%Y-%m-%d %H:%M:%S %:z").to_string(),
        )
}

/// A span of seconds for people: `45 s`, `47 min`, `5 h 3 min`, `3 days`.
fn span(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs} s"),
        60..3600 => format!("{} min", secs / 60),
        3600..172_800 => match secs % 3600 / 60 {
            0 => format!("{} h", secs / 3600),
            min => format!("{} h {min} min", secs / 3600),
        },
        _ => format!("{} days", secs / 86_400),
    }
}

/// An expiry for people: `2026-11-30 14:05:09 +01:00 (in 47 min)`, or `... (3 min ago)`.
fn expiry(unix: u64) -> String {
    let now = unix_now();
    if unix > now {
        format!("{} (in {})", local_time(unix), span(unix - now))
    } else {
        format!("{} ({} ago)", local_time(unix), span(now - unix))
    }
}

fn status(g: &Global) -> Result<(), Fail> {
    let store = store_of(g)?;
    let path = store.path().display().to_string();
    let stored = store.load()?;
    let signed_in = stored.as_ref().filter(|s| !s.refresh_token.is_empty());
    let expires_at = signed_in
        .filter(|s| !s.access_token.is_empty())
        .map(|s| s.expires_at);
    if g.json {
        outln!(
            "{}",
            serde_json::json!({
                "signed_in": signed_in.is_some(),
                "client_id": signed_in.map(|s| s.client_id.as_str()),
                "access_token_expires_at": expires_at,
                "access_token_expires_in": expires_at.map(|at| at.saturating_sub(unix_now())),
                "store": path,
            })
        )?;
    } else if let Some(s) = signed_in {
        outln!("signed in: yes")?;
        outln!("client ID: {}", escaped(&s.client_id))?;
        match expires_at {
            Some(at) if at > unix_now() => outln!("access token: expires {}", expiry(at))?,
            Some(at) => outln!("access token: expired {}", expiry(at))?,
            None => outln!("access token: none stored (the next `lwa token` refreshes)")?,
        }
        outln!("store: {path}")?;
    } else {
        outln!("signed in: no (run `lwa device-login` or `lwa exchange`)")?;
        outln!("store: {path} (no tokens)")?;
    }
    if signed_in.is_some() {
        Ok(())
    } else {
        Err(Fail::Silent(2))
    }
}

fn logout(g: &Global) -> Result<(), Fail> {
    let store = store_of(g)?;
    let path = store.path().display().to_string();
    let lock = store.lock()?;
    let deleted = lock.load()?.is_some();
    lock.remove()?;
    if g.json {
        outln!(
            "{}",
            serde_json::json!({"signed_out": true, "deleted": deleted, "store": path})
        )?;
    } else if deleted {
        outln!("signed out: deleted {path}")?;
    } else {
        outln!("not signed in: no tokens at {path}")?;
    }
    Ok(())
}

fn qr_code(text: &str) -> Option<String> {
    use qrcode::render::unicode;
    let code = qrcode::QrCode::new(text.as_bytes()).ok()?;
    Some(
        code.render::<unicode::Dense1x2>()
            .dark_color(unicode::Dense1x2::Light)
            .light_color(unicode::Dense1x2::Dark)
            .quiet_zone(true)
            .build(),
    )
}

fn pkce(g: &Global) -> Result<(), Fail> {
    let mut random = [0u8; 32];
    getrandom::fill(&mut random)
        .map_err(|e| Fail::Config(format!("no OS random generator: {e}")))?;
    let verifier = CodeVerifier::from_random(&random).map_err(|e| Fail::Config(e.to_string()))?;
    let challenge = verifier.challenge();
    if g.json {
        outln!(
            "{}",
            serde_json::json!({
                "code_verifier": verifier.as_secret().expose(),
                "code_challenge": challenge.as_str(),
                "code_challenge_method": CHALLENGE_METHOD,
            })
        )?;
    } else {
        outln!("code_verifier: {}", verifier.as_secret().expose())?;
        outln!("code_challenge: {}", challenge.as_str())?;
        outln!("code_challenge_method: {CHALLENGE_METHOD}")?;
    }
    Ok(())
}

/// The look-alike's log: one line per request answered, escaped (method, path and grant
/// type are what a client sent). A closed stdout loses the log, nothing else.
fn log_request(request: &lwa_mock::RequestLog) {
    let _ = outln!("{}", escaped(&request.to_string()));
}

/// `text` as one word for a POSIX shell: as it is when it holds nothing the shell would
/// read, else in single quotes.
fn shell_word(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+:,=@%".contains(&b));
    if plain {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// Writes the CA certificate to a new file (never through a file or link already there).
fn write_new(path: &std::path::Path, pem: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o644);
    }
    options.open(path)?.write_all(pem.as_bytes())
}

fn mock_server(g: &Global, args: &MockArgs) -> Result<(), Fail> {
    use lwa_mock::{Chain, MockConfig, MockServer};
    let defaults = MockConfig::default();
    let config = MockConfig {
        client_id: g
            .client_id
            .clone()
            .filter(|id| !id.is_empty())
            .unwrap_or_else(|| defaults.client_id.clone()),
        client_secret: g.client_secret.clone().filter(|s| !s.is_empty()),
        poll_interval: args.poll_interval,
        rotate_refresh_tokens: args.rotate,
        approve_after_polls: args.approve_after_polls,
        chain: match args.chain {
            ChainArg::P256 => Chain::P256,
            ChainArg::Rsa => Chain::Rsa2048,
            ChainArg::DigicertRsa => Chain::DigicertRsa,
            ChainArg::AmazonRsa => Chain::AmazonRsa,
            ChainArg::AmazonRsa4096 => Chain::AmazonRsa4096,
            ChainArg::AmazonP256 => Chain::AmazonP256,
            ChainArg::AmazonP384 => Chain::AmazonP384,
            ChainArg::CrossSigned => Chain::CrossSigned,
        },
        names: if args.names.is_empty() {
            defaults.names.clone()
        } else {
            args.names.clone()
        },
        on_request: Some(log_request),
        ..defaults
    };
    // Listening for the end before a CA file exists, so that none is left behind.
    #[cfg(unix)]
    let signals = {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]).ok()
    };
    let port = args.port;
    let server = MockServer::start(config.clone(), args.tls, port)
        .map_err(|e| Fail::Config(format!("cannot start the look-alike on port {port}: {e}")))?;
    // The CA file this run made, deleted when it stops; a --ca-out file is the user's.
    let mut made: Option<PathBuf> = None;
    let mut ca_file = None;
    if let Some(pem) = server.ca_pem() {
        let path = match &args.ca_out {
            Some(path) => {
                std::fs::write(path, pem)
                    .map_err(|e| Fail::Config(format!("cannot write {}: {e}", path.display())))?;
                path.clone()
            }
            None => {
                let path = std::env::temp_dir().join(format!(
                    "lwa-mock-ca-{}-{}.pem",
                    server.port(),
                    std::process::id()
                ));
                write_new(&path, pem)
                    .map_err(|e| Fail::Config(format!("cannot write {}: {e}", path.display())))?;
                made = Some(path.clone());
                path
            }
        };
        ca_file = Some(path);
    }
    outln!("LWA look-alike at {}", server.origin())?;
    outln!("client ID: {}", escaped(&config.client_id))?;
    match &ca_file {
        Some(path) => {
            outln!(
                "CA certificate: {} (pass it with --ca-file{})",
                path.display(),
                if made.is_some() {
                    "; deleted when the look-alike stops"
                } else {
                    ""
                }
            )?;
            outln!(
                "approve a device code: curl --cacert {} '{}/mock/approve?user_code=CODE'",
                shell_word(&path.display().to_string()),
                server.origin()
            )?;
        }
        None => outln!(
            "approve a device code: curl '{}/mock/approve?user_code=CODE'",
            server.origin()
        )?,
    }
    outln!("stop with Ctrl-C")?;
    #[cfg(unix)]
    if let Some(mut signals) = signals
        && let Some(signal) = signals.forever().next()
    {
        if let Some(path) = &made {
            let _ = std::fs::remove_file(path);
        }
        let _ = signal_hook::low_level::emulate_default_handler(signal);
        std::process::exit(128 + signal);
    }
    loop {
        std::thread::park();
    }
}

fn demo(g: &Global) -> Result<(), Fail> {
    use lwa_mock::{MockConfig, MockServer};

    let config = MockConfig {
        auto_approve: true,
        poll_interval: 1,
        ..MockConfig::default()
    };
    let server = MockServer::start(config.clone(), true, 0)
        .map_err(|e| Fail::Config(format!("cannot start the look-alike: {e}")))?;
    let dir = std::env::temp_dir().join(format!("lwa-demo-{}", std::process::id()));
    let store_path = dir.join("tokens.json");
    let demo_global = Global {
        endpoint: Some(server.origin().to_owned()),
        store: Some(store_path.clone()),
        client_id: Some(config.client_id.clone()),
        client_secret: None,
        json: false,
        ..g.clone()
    };
    let mut ctx = Ctx::new(&demo_global, server.ca_pem())?;
    ctx.verbose = true;
    outln!(
        "lwa demo: everything below talks to a local LWA look-alike; no Amazon account is used."
    )?;
    outln!()?;
    outln!("1. Started the look-alike at {}", server.origin())?;
    outln!(
        "   over HTTPS, with a certificate from a CA made for this run. The client trusts that CA"
    )?;
    outln!("   in addition to the public roots; certificate and host-name checks stay on.")?;
    outln!("   Tokens go to {}", store_path.display())?;
    outln!()?;
    outln!("2. device-login: the device asks for a code pair, shows the code, and polls until")?;
    outln!("   the user has entered it (the look-alike approves at once).")?;
    device_login(
        &ctx,
        "demo_device",
        "DEMO0001",
        Duration::from_secs(60),
        Duration::from_secs(30),
    )?;
    let stored = ctx
        .store
        .load()?
        .ok_or_else(|| Fail::Config("the store is empty after sign-in".into()))?;
    outln!(
        "   signed in: a {}-character access token valid until {} and a refresh token, saved (mode 0600).",
        stored.access_token.len(),
        expiry(stored.expires_at)
    )?;
    outln!()?;
    outln!("3. refresh: trade the stored refresh token for a new access token.")?;
    let before = server.requests();
    refresh(&ctx, None)?;
    let after = ctx
        .store
        .load()?
        .ok_or_else(|| Fail::Config("store vanished".into()))?;
    outln!(
        "   one request ({} -> {}); new access token {}, saved.",
        before,
        server.requests(),
        if after.access_token == stored.access_token {
            "NOT changed"
        } else {
            "received"
        }
    )?;
    outln!()?;
    outln!("4. token: print a valid access token (the demo keeps it off the screen).")?;
    let before = server.requests();
    token(&ctx)?;
    outln!(
        "   requests before and after: {before} and {}: the stored token was good.",
        server.requests()
    )?;
    outln!()?;
    outln!("5. The user removes the device: the look-alike revokes the refresh token.")?;
    server.revoke_all();
    let saved = std::fs::read(&store_path).unwrap_or_default();
    match refresh(&ctx, None) {
        Err(Fail::OAuth(message)) => outln!("   refresh answered: {}", escaped(&message))?,
        other => outln!("   unexpected: {other:?}")?,
    }
    let unchanged = std::fs::read(&store_path).unwrap_or_default() == saved;
    outln!(
        "   the store is {} (a device would now sign in again).",
        if unchanged {
            "unchanged, byte for byte"
        } else {
            "CHANGED"
        }
    )?;
    outln!()?;
    let _ = std::fs::remove_dir_all(&dir);
    server.shutdown();
    outln!("Done. Against Amazon, drop --endpoint and pass your own --client-id.")?;
    Ok(())
}
