//! `lwa mock-server`: the local LWA look-alike (lwa-mock) until interrupted, with its origin,
//! client ID, CA file and the command that approves a device code printed, and one log line
//! per request.

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::args::{ChainArg, Global, MockArgs};
use crate::fail::Fail;
use crate::output::{approve_command, escaped};
use crate::signals;

/// The look-alike's log: one line per request answered, escaped (method, path and grant
/// type are what a client sent). A closed stdout loses the log, nothing else.
fn log_request(request: &lwa_mock::RequestLog) {
    let _ = outln!("{}", escaped(&request.to_string()));
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

pub(crate) fn run(g: &Global, args: &MockArgs) -> Result<(), Fail> {
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
    let made: Arc<Mutex<Option<PathBuf>>> = Arc::default();
    let to_delete = Arc::clone(&made);
    signals::on_termination(move || {
        let path = to_delete.lock().map(|p| p.clone()).unwrap_or_default();
        if let Some(path) = path {
            let _ = std::fs::remove_file(path);
        }
    });
    let port = args.port;
    let server = MockServer::start(config.clone(), args.tls, port)
        .map_err(|e| Fail::Config(format!("cannot start the look-alike on port {port}: {e}")))?;
    // The CA file this run made is deleted when it stops; a --ca-out file is the user's.
    let mut ca_file = None;
    let mut deleted_on_stop = false;
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
                if let Ok(mut made) = made.lock() {
                    *made = Some(path.clone());
                }
                deleted_on_stop = true;
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
                if deleted_on_stop {
                    "; deleted when the look-alike stops"
                } else {
                    ""
                }
            )?;
            outln!(
                "approve a device code: {}",
                approve_command(server.origin(), Some(path), "CODE")
            )?;
        }
        None => outln!(
            "approve a device code: {}",
            approve_command(server.origin(), None, "CODE")
        )?,
    }
    outln!("(or open {}/mock/approve in a browser)", server.origin())?;
    outln!("stop with Ctrl-C")?;
    loop {
        std::thread::park();
    }
}
