//! The command line: the global options (accepted before or after any subcommand; each
//! subcommand's help lists those it uses), the subcommands and their own options.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// What `lwa --help` (and the manual page) says after the options.
const AFTER_LONG_HELP: &str = "\
Exit status:
  0 success; 1 LWA refused (an OAuth error), or `status` finds no sign-in; 2 usage or
  configuration error; 3 network, TLS, timeout or protocol failure, or a full stdout.
  `exec` exits with its command's status (126/127 when it cannot be run). A stdout closed
  by its reader ends lwa by SIGPIPE, quietly.

Files:
  <config dir>/lwa/tokens.json   the default token store (mode 0600), with tokens.json.lock
  <config dir>/lwa/config.toml   profiles (or $LWA_CONFIG), in TOML:
                                   [profiles.kitchen]
                                   client_id = \"amzn1.application-oa2-client.0123\"
                                   region = \"eu\"        # or endpoint = \"https://...\"
                                   ca_file = \"/etc/lwa/extra.pem\"   # optional
                                   store = \"/srv/lwa/kitchen.json\"  # optional
  <config dir>/lwa/profiles/NAME.json   a profile's store when it names none
  <config dir> is $XDG_CONFIG_HOME, else ~/.config (macOS: ~/Library/Application Support;
  Windows: %APPDATA%).

Environment:
  LWA_STORE, LWA_CLIENT_ID, LWA_CLIENT_SECRET, LWA_ENDPOINT, LWA_CA_FILE, LWA_PROFILE,
  LWA_CONFIG; LWA_CODE, LWA_CODE_VERIFIER (exchange), LWA_REFRESH_TOKEN (refresh). A
  variable set but empty counts as unset; the command line wins over the environment, and
  both over a profile.";

#[derive(Parser, Debug)]
#[command(
    name = "lwa",
    version,
    about = "Get and keep Login-with-Amazon tokens for Alexa devices",
    after_long_help = AFTER_LONG_HELP
)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: Global,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Args, Debug, Clone)]
pub(crate) struct Global {
    /// LWA region [default: the store's origin for a stored token, else na].
    #[arg(long, global = true, help_heading = "Global options", value_enum)]
    pub(crate) region: Option<RegionArg>,
    /// Origin overriding the region, scheme://host[:port]; http:// only for loopback hosts
    /// [default: $LWA_ENDPOINT, else the store's origin for a stored token].
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_name = "ORIGIN",
        env = "LWA_ENDPOINT"
    )]
    pub(crate) endpoint: Option<String>,
    /// Extra trusted CA certificates (PEM) [default: $LWA_CA_FILE, else the one recorded
    /// with the stored tokens].
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_name = "PEM",
        env = "LWA_CA_FILE"
    )]
    pub(crate) ca_file: Option<PathBuf>,
    /// Send the stored refresh token to another origin than the one that issued it (the
    /// store records it): without this, a --region or --endpoint that names another origin
    /// is refused.
    #[arg(long, global = true, help_heading = "Global options")]
    pub(crate) allow_other_origin: bool,
    /// Connect, read and write timeout in seconds.
    #[arg(long, global = true, help_heading = "Global options", value_name = "SECONDS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub(crate) timeout: u64,
    /// Bound in seconds on a whole exchange: connecting, the TLS handshake, writing the
    /// request and reading the answer all end by it.
    #[arg(long, global = true, help_heading = "Global options", value_name = "SECONDS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub(crate) exchange_timeout: u64,
    /// HTTP proxy for HTTPS, http://[user:password@]host[:port] (port 1080 if none), or
    /// `none` to connect directly [default: $https_proxy, $HTTPS_PROXY, $all_proxy,
    /// $ALL_PROXY, the first set]; hosts in $no_proxy or $NO_PROXY go direct. Plain http://
    /// endpoints never use a proxy.
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_name = "URL|none"
    )]
    pub(crate) proxy: Option<String>,
    /// How long to wait, in seconds, for another lwa that is updating the store; a valid
    /// stored token is served without waiting.
    #[arg(long, global = true, help_heading = "Global options", value_name = "SECONDS", default_value_t = 75,
          value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub(crate) lock_timeout: u64,
    /// Token store: a file, or `keyring[:NAME]` for the OS keyring's entry NAME (default
    /// `default`; no fallback to a file) [default: $LWA_STORE, else <config
    /// dir>/lwa/tokens.json].
    // An OsString, so that an empty value reaches the command's own message
    // (`context::store_of`) rather than clap's.
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_name = "PATH|keyring[:NAME]",
        env = "LWA_STORE",
        value_parser = clap::builder::OsStringValueParser::new()
    )]
    pub(crate) store: Option<OsString>,
    /// Client ID [default: $LWA_CLIENT_ID, else the store's].
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_name = "ID",
        env = "LWA_CLIENT_ID"
    )]
    pub(crate) client_id: Option<String>,
    /// Client secret, for clients that have one [default: $LWA_CLIENT_SECRET]; `-` reads it
    /// from stdin.
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_name = "SECRET",
        env = "LWA_CLIENT_SECRET",
        hide_env_values = true,
        allow_hyphen_values = true
    )]
    pub(crate) client_secret: Option<String>,
    /// Print the result as one JSON object on stdout.
    #[arg(long, global = true, help_heading = "Global options")]
    pub(crate) json: bool,
    /// Profile of the configuration file whose store, client ID, region or endpoint and CA
    /// file fill in what the command line and environment leave unset [default:
    /// $LWA_PROFILE].
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_name = "NAME",
        env = "LWA_PROFILE"
    )]
    pub(crate) profile: Option<String>,
}

/// An environment variable's name as shells take it: a letter or `_`, then letters,
/// digits and `_`.
fn env_name(name: &str) -> Result<String, crate::text::Invalid> {
    let mut bytes = name.bytes();
    let first = bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_');
    if first && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_') && name.len() <= 64 {
        Ok(name.to_owned())
    } else {
        Err(crate::text::Invalid(
            "a variable name is a letter or _, then letters, digits and _",
        ))
    }
}

#[derive(ValueEnum, Debug, Clone, Copy)]
pub(crate) enum RegionArg {
    Na,
    Eu,
    Fe,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Trade an authorization code for tokens and save them.
    Exchange {
        /// The authorization code; `-` reads it from stdin (arguments are visible to every
        /// user through `ps`; stdin and the environment are not).
        #[arg(
            long,
            env = "LWA_CODE",
            hide_env_values = true,
            allow_hyphen_values = true
        )]
        code: String,
        /// The redirect URI of the authorization request.
        #[arg(long)]
        redirect_uri: String,
        /// PKCE code verifier (public clients without a secret); `-` reads it from stdin.
        #[arg(
            long,
            env = "LWA_CODE_VERIFIER",
            hide_env_values = true,
            allow_hyphen_values = true
        )]
        code_verifier: Option<String>,
    },
    /// Refresh the access token and save the tokens.
    Refresh {
        /// Refresh token to use instead of the stored one; `-` reads it from stdin
        /// (arguments are visible to every user through `ps`; stdin and the environment
        /// are not).
        #[arg(
            long,
            env = "LWA_REFRESH_TOKEN",
            hide_env_values = true,
            allow_hyphen_values = true
        )]
        refresh_token: Option<String>,
    },
    /// Print a valid access token, refreshing first only if it expires within 10 minutes
    /// (or --min-valid).
    Token {
        /// Refresh first if the stored token expires within DURATION (90s, 10m, 1h30m; at
        /// most 24h) [default: 10m].
        #[arg(long, value_name = "DURATION", value_parser = crate::text::parse_span)]
        min_valid: Option<std::time::Duration>,
    },
    /// Run a command with a valid access token in its environment.
    ///
    /// The token (valid for at least --min-valid) is in LWA_ACCESS_TOKEN, or the variable
    /// --env-name names, never on a command line; lwa's own secrets (LWA_CLIENT_SECRET,
    /// LWA_REFRESH_TOKEN, LWA_CODE, LWA_CODE_VERIFIER) are removed from it. lwa becomes
    /// the command (exec), so its exit status is the command's; 127 when it is not found,
    /// 126 when it cannot be run.
    #[command(
        after_help = "Example: lwa exec -- sh -c 'curl -H \"Authorization: Bearer $LWA_ACCESS_TOKEN\" https://api.amazonalexa.com/v1/...'"
    )]
    Exec {
        /// Refresh first if the stored token expires within DURATION (90s, 10m, 1h30m; at
        /// most 24h) [default: 10m].
        #[arg(long, value_name = "DURATION", value_parser = crate::text::parse_span)]
        min_valid: Option<std::time::Duration>,
        /// The variable that carries the token.
        #[arg(long, value_name = "NAME", default_value = "LWA_ACCESS_TOKEN", value_parser = env_name)]
        env_name: String,
        /// The command and its arguments (after `--`).
        #[arg(
            required = true,
            trailing_var_arg = true,
            allow_hyphen_values = true,
            value_name = "COMMAND"
        )]
        command: Vec<std::ffi::OsString>,
    },
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
    /// and the store's path; exit 0 when signed in, 1 when not. Nothing is sent.
    Status {
        /// Every profile of the configuration file, one line each (exit 0 when all are
        /// signed in, 1 when one is not).
        #[arg(long)]
        all: bool,
    },
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
    /// Print a completion script for a shell: bash, zsh or fish.
    ///
    /// bash: `source <(lwa completions bash)`; zsh: `lwa completions zsh > ~/.zfunc/_lwa`
    /// (with ~/.zfunc in fpath); fish: `lwa completions fish > ~/.config/fish/completions/lwa.fish`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), or write one page per subcommand into a directory.
    ///
    /// `lwa man | man -l -`, or `lwa man --out-dir /usr/local/share/man/man1`.
    Man {
        /// Write lwa.1 and lwa-SUBCOMMAND.1 here instead of printing lwa.1.
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
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
pub(crate) struct MockArgs {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 8080)]
    pub(crate) port: u16,
    /// Serve HTTPS with a certificate from a CA made for this run.
    #[arg(long)]
    pub(crate) tls: bool,
    /// Certificate chain. Besides p256 and rsa, look-alikes of the shapes of chains under
    /// the public roots a device may meet on LWA's hosts (algorithms, key sizes,
    /// extensions), made with test keys; the server never sends the root, and --ca-out gets the one to trust. With --tls.
    #[arg(long, value_enum, default_value_t = ChainArg::P256, requires = "tls")]
    pub(crate) chain: ChainArg,
    /// A DNS name or IP address for the server certificate; repeat for more. Replaces the
    /// default names localhost, 127.0.0.1 and ::1 (the printed origin stays
    /// https://localhost:PORT). With --tls.
    #[arg(long = "name", value_name = "NAME", requires = "tls")]
    pub(crate) names: Vec<String>,
    /// Approve a device code by itself after N polls answered authorization_pending (poll
    /// N+1 gets tokens).
    #[arg(long, value_name = "N")]
    pub(crate) approve_after_polls: Option<u32>,
    /// Polling interval in seconds handed out with a code pair; polling faster gets slow_down.
    #[arg(long, value_name = "SECONDS", default_value_t = 5)]
    pub(crate) poll_interval: u32,
    /// Start with refresh-token rotation on: every refresh hands out a new refresh token and
    /// revokes the old one (POST /mock/rotate changes it while running).
    #[arg(long)]
    pub(crate) rotate: bool,
    /// Write the CA certificate (PEM) to PATH instead of a file in the temporary directory.
    /// With --tls.
    #[arg(long, value_name = "PATH", requires = "tls")]
    pub(crate) ca_out: Option<PathBuf>,
}

#[derive(ValueEnum, Debug, Clone, Copy)]
pub(crate) enum ChainArg {
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

/// The global options, by what they are: each subcommand says which it uses, and its help
/// lists those. [`Opt::id`] is clap's id for the option; a test holds the two together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Opt {
    Region,
    Endpoint,
    CaFile,
    AllowOtherOrigin,
    Timeout,
    ExchangeTimeout,
    Proxy,
    LockTimeout,
    Store,
    ClientId,
    ClientSecret,
    Json,
    Profile,
}

impl Opt {
    /// Every global option.
    pub(crate) const ALL: [Self; 13] = [
        Self::Region,
        Self::Endpoint,
        Self::CaFile,
        Self::AllowOtherOrigin,
        Self::Timeout,
        Self::ExchangeTimeout,
        Self::Proxy,
        Self::LockTimeout,
        Self::Store,
        Self::ClientId,
        Self::ClientSecret,
        Self::Json,
        Self::Profile,
    ];

    /// clap's id: the field's name in [`Global`].
    pub(crate) fn id(self) -> &'static str {
        match self {
            Self::Region => "region",
            Self::Endpoint => "endpoint",
            Self::CaFile => "ca_file",
            Self::AllowOtherOrigin => "allow_other_origin",
            Self::Timeout => "timeout",
            Self::ExchangeTimeout => "exchange_timeout",
            Self::Proxy => "proxy",
            Self::LockTimeout => "lock_timeout",
            Self::Store => "store",
            Self::ClientId => "client_id",
            Self::ClientSecret => "client_secret",
            Self::Json => "json",
            Self::Profile => "profile",
        }
    }
}

/// The global options the subcommand `name` uses (the others are accepted and ignored, so
/// that one alias or wrapper with the same options serves every subcommand).
pub(crate) fn uses(name: &str) -> &'static [Opt] {
    use Opt::{
        CaFile, ClientId, ClientSecret, Endpoint, ExchangeTimeout, Json, LockTimeout, Profile,
        Proxy, Region, Store, Timeout,
    };
    match name {
        "status" => &[Store, Json, Profile],
        "logout" => &[Store, LockTimeout, Json, Profile],
        "pkce" => &[Json],
        "probe" => &[
            Region,
            Endpoint,
            Timeout,
            ExchangeTimeout,
            Proxy,
            Json,
            Profile,
        ],
        "completions" | "man" => &[],
        // The look-alike's own client: the one it accepts.
        "mock-server" => &[ClientId, ClientSecret],
        // Without JSON output: --json is refused there (see `commands::run`).
        "demo" => &[],
        // A new sign-in goes where the options say: no stored token to protect.
        "exchange" | "device-login" => &[
            Region,
            Endpoint,
            CaFile,
            Timeout,
            ExchangeTimeout,
            Proxy,
            LockTimeout,
            Store,
            ClientId,
            ClientSecret,
            Json,
            Profile,
        ],
        // refresh, token, exec.
        _ => &Opt::ALL,
    }
}

/// The command line's definition, where a variable set but empty counts as unset
/// (`LWA_STORE=` in a script or a unit file means "no store given", not "the store ''"):
/// such an argument loses its variable before parsing. Each subcommand's help shows the
/// global options it uses.
pub(crate) fn command() -> clap::Command {
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
    // it does not use from its help.
    cmd.build();
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|c| c.get_name().to_owned())
        .collect();
    for name in names {
        let used = uses(&name);
        cmd = cmd.mut_subcommand(&name, |sub| {
            sub.mut_args(|arg| {
                let global = Opt::ALL.iter().find(|o| o.id() == arg.get_id().as_str());
                let hide = global.is_some_and(|o| !used.contains(o));
                unbind_empty(arg).hide(hide)
            })
        });
    }
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`Opt::id`] names exactly the global options clap knows.
    #[test]
    fn the_typed_global_options_are_claps() {
        use clap::CommandFactory as _;
        let mut clap_ids: Vec<String> = Cli::command()
            .get_arguments()
            .filter(|a| a.is_global_set())
            .map(|a| a.get_id().to_string())
            .collect();
        let mut ours: Vec<String> = Opt::ALL.iter().map(|o| o.id().to_owned()).collect();
        clap_ids.sort();
        ours.sort();
        assert_eq!(clap_ids, ours);
    }

    #[test]
    fn every_subcommand_says_what_it_uses() {
        let cmd = command();
        let names: Vec<&str> = cmd.get_subcommands().map(|c| c.get_name()).collect();
        assert_eq!(names.len(), 14, "{names:?}");
        for name in [
            "status",
            "logout",
            "pkce",
            "probe",
            "mock-server",
            "demo",
            "completions",
            "man",
        ] {
            assert!(names.contains(&name), "{name}");
            assert!(uses(name).len() < Opt::ALL.len(), "{name}");
        }
    }
}
