//! End to end: `lwa` as a person expects it (help, status and logout, errors that
//! say what to do, JSON errors, empty environment variables, the look-alike's log and
//! options, progress without a terminal), over real processes and loopback sockets.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::{CLIENT_ID, Env, assert_exit, bare, now, stderr, stdout};

/// The store directory of a test (no CA: plain http, or the look-alike's CA by hand).
fn env_for(origin: &str) -> Env {
    Env::new(origin, None)
}

/// `YYYY-MM-DD HH:MM:SS` of Unix seconds in UTC (Howard Hinnant's days-to-civil).
fn utc(secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).unwrap();
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// `lwa status` says whether the store is signed in, for which client, when the
/// access token expires (local date and "in 47 min") and where the store is; `--json` too.
#[test]
fn status_shows_the_sign_in_readably_and_as_json() {
    let env = env_for("http://127.0.0.1:9");
    let path = env.store().display().to_string();

    let o = env.run(&["status"]);
    assert_exit(&o, 1, "");
    assert_eq!(
        stdout(&o),
        format!(
            "signed in: no (run `lwa device-login` or `lwa exchange`)\nstore: {path} (no tokens)\n"
        )
    );

    let expires_at = now() + 47 * 60 + 30;
    env.save("Atza|a", "Atzr|r", expires_at);
    let o = env.run(&["status"]);
    assert_exit(&o, 0, "");
    assert_eq!(
        stdout(&o),
        format!(
            "signed in: yes\nclient ID: {CLIENT_ID}\naccess token: expires {} +00:00 (in 47 min)\nstore: {path}\nkept in: a file only its owner can read (mode 0600), not encrypted\n",
            utc(expires_at)
        )
    );
    assert!(!stdout(&o).contains("Atz"), "{}", stdout(&o));

    // The local time zone, from TZ.
    let o = env
        .local()
        .env("TZ", "XST-05:30")
        .arg("status")
        .output()
        .unwrap();
    assert_exit(&o, 0, "");
    assert!(
        stdout(&o).contains(&format!(
            "access token: expires {} +05:30 (in 47 min)",
            utc(expires_at + 5 * 3600 + 30 * 60)
        )),
        "{}",
        stdout(&o)
    );

    let o = env.run(&["status", "--json"]);
    assert_exit(&o, 0, "");
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "signed_in": true,
            "client_id": CLIENT_ID,
            "issued_by": null,
            "kept_in": "file",
            "access_token_expires_at": expires_at,
            "access_token_expires_in": json["access_token_expires_in"].as_u64().filter(|s| (47 * 60..=47 * 60 + 30).contains(s)).unwrap(),
            "store": path,
        })
    );

    // An expired access token is said to be expired.
    let expired = now() - 3 * 60 - 10;
    env.save("Atza|a", "Atzr|r", expired);
    let o = env.run(&["status"]);
    assert_exit(&o, 0, "");
    assert!(
        stdout(&o).contains(&format!(
            "access token: expired {} +00:00 (3 min ago)",
            utc(expired)
        )),
        "{}",
        stdout(&o)
    );
}

/// `lwa logout` forgets the stored tokens; a second one has nothing to do.
#[test]
fn logout_forgets_the_stored_tokens() {
    let env = env_for("http://127.0.0.1:9");
    let path = env.store().display().to_string();
    env.save("Atza|a", "Atzr|r", now() + 3600);
    let o = env.run(&["logout"]);
    assert_exit(&o, 0, "");
    assert_eq!(stdout(&o), format!("signed out: deleted {path}\n"));
    assert!(!env.store().exists());
    let o = env.run(&["logout"]);
    assert_exit(&o, 0, "");
    assert_eq!(stdout(&o), format!("not signed in: no tokens at {path}\n"));
    env.save("Atza|a", "Atzr|r", now() + 3600);
    let o = env.run(&["logout", "--json"]);
    assert_exit(&o, 0, "");
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"signed_out": true, "deleted": true, "store": path})
    );
    assert_eq!(env.run(&["status"]).status.code(), Some(1));
}

/// The demo shows the access token's expiry as a date and a span, not raw Unix
/// seconds.
#[test]
fn the_demo_shows_times_readably() {
    let o = bare().arg("demo").output().unwrap();
    assert_exit(&o, 0, "");
    let text = stdout(&o);
    assert!(!text.contains("Unix time"), "{text}");
    let line = text
        .lines()
        .find(|l| l.contains("signed in: a 370-character access token valid until "))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        line.contains(" +00:00 (in 59 min) and a refresh token")
            || line.contains(" +00:00 (in 1 h) and a refresh token"),
        "{line}"
    );
}

/// Runs `command` to its end, or kills it after `limit` (its output so far is returned).
fn within(command: &mut Command, limit: Duration) -> Output {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// A port on 127.0.0.1 that nothing listens on (bound, then closed).
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Errors say what to do: a dead refresh token means signing in again, an
/// unknown issuer names --ca-file, a refused connection names host and port, TLS spoken to
/// a plain-HTTP port says so.
#[test]
fn errors_say_what_to_do() {
    use lwa_mock::{MockConfig, MockServer};
    let server = MockServer::start(MockConfig::default(), false, 0).unwrap();
    let env = env_for(server.origin());
    env.save("", "Atzr|unknown", 0);
    let o = env.run(&["refresh"]);
    assert_exit(&o, 1, "");
    assert_eq!(
        stderr(&o),
        "lwa: invalid_grant: The request has an invalid grant parameter : refresh_token (HTTP 400); \
         the refresh token is no longer valid (the device was removed or the token revoked): \
         sign in again with `lwa device-login` or `lwa exchange`\n"
    );
    // The dead token is forgotten: status says to sign in again.
    assert!(env.store_bytes().is_none());
    let o = env.run(&["status"]);
    assert_exit(&o, 1, "");
    assert!(stdout(&o).starts_with("signed in: no (run `lwa device-login` or `lwa exchange`)"));
    let o = env.run(&[
        "exchange",
        "--client-id",
        CLIENT_ID,
        "--code",
        "nosuchcode",
        "--redirect-uri",
        "https://example.com/cb",
        "--code-verifier",
        &"a".repeat(43),
    ]);
    assert_exit(&o, 1, "");
    assert!(
        stderr(&o).ends_with(
            "; the code was used already, expired, or does not match --redirect-uri or \
             --code-verifier: get a new authorization code\n"
        ),
        "{}",
        stderr(&o)
    );

    // TLS to the plain-HTTP look-alike.
    let tls_env = env_for(&format!("https://localhost:{}", server.port()));
    tls_env.save("", "Atzr|r", 0);
    let o = tls_env.run(&["refresh"]);
    assert_exit(&o, 3, "");
    assert!(
        stderr(&o).contains(&format!(
            "localhost:{} does not speak TLS (a plain-HTTP port?): for a local server use http://",
            server.port()
        )),
        "{}",
        stderr(&o)
    );

    // An HTTPS server whose CA is not passed.
    let https = MockServer::start(MockConfig::default(), true, 0).unwrap();
    let env = env_for(https.origin());
    env.save("", "Atzr|r", 0);
    let o = env.run(&["refresh"]);
    assert_exit(&o, 3, "");
    assert!(
        stderr(&o).ends_with(&format!(
            "TLS: invalid peer certificate: UnknownIssuer; the certificate of localhost:{} is \
             not from a CA lwa trusts: if the server uses a private CA (a test server, a \
             proxy), pass it with --ca-file\n",
            https.port()
        )),
        "{}",
        stderr(&o)
    );

    // Nothing listening.
    let port = closed_port();
    let env = env_for(&format!("http://127.0.0.1:{port}"));
    env.save("", "Atzr|r", 0);
    let o = env.run(&["refresh"]);
    assert_exit(&o, 3, "");
    assert!(
        stderr(&o).starts_with(&format!("lwa: cannot connect to 127.0.0.1:{port}: ")),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).ends_with("; is the server running, and are --endpoint and --region right?\n"),
        "{}",
        stderr(&o)
    );
}

/// With --json, errors are one JSON object on stderr, usage errors included.
#[test]
fn json_errors_are_json_on_stderr() {
    let env = env_for("http://127.0.0.1:9");
    let path = env.store().display().to_string();
    let o = env.run(&["--json", "token"]);
    assert_exit(&o, 2, "");
    assert_eq!(stdout(&o), "");
    let json: serde_json::Value = serde_json::from_str(&stderr(&o)).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "error": format!("not signed in: {path} does not exist (run `lwa device-login` or `lwa exchange`)"),
            "exit": 2,
        })
    );
    assert_eq!(stderr(&o).lines().count(), 1);

    let port = closed_port();
    let env = env_for(&format!("http://127.0.0.1:{port}"));
    env.save("", "Atzr|r", 0);
    let o = env.run(&["refresh", "--json"]);
    assert_exit(&o, 3, "");
    let json: serde_json::Value = serde_json::from_str(&stderr(&o)).unwrap();
    assert_eq!(json["exit"], 3);
    assert!(
        json["error"]
            .as_str()
            .unwrap()
            .starts_with(&format!("cannot connect to 127.0.0.1:{port}")),
        "{json}"
    );

    // A usage error, without echoing what was typed.
    let o = env.run(&["--json", "--timeout", "0", "token"]);
    assert_exit(&o, 2, "");
    let json: serde_json::Value = serde_json::from_str(&stderr(&o)).unwrap();
    assert_eq!(json["exit"], 2);
    assert!(
        json["error"].as_str().unwrap().contains("--timeout"),
        "{json}"
    );
}

/// Every command honours --json or refuses it; none drops it silently.
#[test]
fn json_is_honoured_or_refused_by_every_command() {
    let env = env_for("http://127.0.0.1:9");
    let expires_at = now() + 3600;
    env.save("Atza|stored", "Atzr|r", expires_at);
    let o = env.run(&["token", "--json"]);
    assert_exit(&o, 0, "");
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["access_token"], "Atza|stored");
    assert_eq!(json["token_type"], "bearer");
    assert_eq!(json["expires_at"], expires_at);
    assert!(
        (3590..=3600).contains(&json["expires_in"].as_u64().unwrap()),
        "{json}"
    );

    for command in [
        &["demo", "--json"][..],
        &["mock-server", "--json", "--port", "0"],
    ] {
        let o = within(bare().args(command), Duration::from_secs(30));
        assert_exit(&o, 2, "");
        let json: serde_json::Value =
            serde_json::from_str(&stderr(&o)).unwrap_or_else(|e| panic!("{e}: {}", stderr(&o)));
        assert_eq!(json["exit"], 2);
        assert!(json["error"].as_str().unwrap().contains("--json"), "{json}");
    }
}

/// A variable set but empty counts as unset: `LWA_STORE=` no longer makes every
/// command fail, even with --store, and each variable empty gives what it gives unset.
#[test]
fn empty_environment_variables_count_as_unset() {
    let env = env_for("http://127.0.0.1:9");
    env.save("Atza|a", "Atzr|r", now() + 3600);
    let o = env
        .local()
        .env("LWA_STORE", "")
        .arg("status")
        .output()
        .unwrap();
    assert_exit(&o, 0, "");
    assert!(
        stdout(&o).contains(&format!("\nstore: {}\n", env.store().display())),
        "{}",
        stdout(&o)
    );

    let home = tempfile::tempdir().unwrap();
    let cases: [(&str, &[&str]); 6] = [
        ("LWA_STORE", &["status"]),
        ("LWA_CLIENT_ID", &["refresh", "--refresh-token", "Atzr|x"]),
        (
            "LWA_CLIENT_SECRET",
            &[
                "exchange",
                "--code",
                "c",
                "--redirect-uri",
                "u",
                "--client-id",
                "x",
            ],
        ),
        (
            "LWA_CODE",
            &["exchange", "--redirect-uri", "u", "--client-id", "x"],
        ),
        ("LWA_REFRESH_TOKEN", &["refresh", "--client-id", "x"]),
        (
            "LWA_CODE_VERIFIER",
            &[
                "exchange",
                "--code",
                "c",
                "--redirect-uri",
                "u",
                "--client-id",
                "x",
            ],
        ),
    ];
    for (var, args) in cases {
        let run = |empty: bool| {
            let mut c = bare();
            c.env("HOME", home.path()).env_remove("XDG_CONFIG_HOME");
            if var != "LWA_STORE" {
                c.args(["--endpoint", "http://127.0.0.1:9", "--store"])
                    .arg(env.dir.path().join("empty.json"));
            }
            if empty {
                c.env(var, "");
            }
            c.args(args).output().unwrap()
        };
        let (unset, empty) = (run(false), run(true));
        assert_eq!(
            (empty.status.code(), stdout(&empty), stderr(&empty)),
            (unset.status.code(), stdout(&unset), stderr(&unset)),
            "{var}"
        );
    }
}

/// A subcommand's help lists its own options, then the global options it uses under their
/// own heading; the others are not listed, and accepted.
#[test]
fn help_separates_global_options_and_subcommands_accept_the_others() {
    let o = bare().args(["pkce", "--help"]).output().unwrap();
    assert_exit(&o, 0, "");
    assert_eq!(
        stdout(&o),
        "Print a new PKCE code_verifier and its S256 code_challenge\n\
         \n\
         Usage: lwa pkce [OPTIONS]\n\
         \n\
         Options:\n  -h, --help  Print help\n\
         \n\
         Global options:\n      --json  Print the result as one JSON object on stdout\n"
    );

    /// The long option names of a help section, in order.
    fn section(help: &str, heading: &str) -> Vec<String> {
        help.split("\n\n")
            .find(|part| part.starts_with(heading))
            .unwrap_or_else(|| panic!("no {heading:?} in {help}"))
            .lines()
            .skip(1)
            .filter_map(|line| {
                line.split_whitespace()
                    .find(|w| w.starts_with("--"))
                    .map(|w| w.trim_end_matches(',').to_owned())
            })
            .collect()
    }
    let help = stdout(&bare().args(["exchange", "-h"]).output().unwrap());
    assert_eq!(
        section(&help, "Options:"),
        ["--code", "--redirect-uri", "--code-verifier", "--help"]
    );
    assert_eq!(
        section(&help, "Global options:"),
        [
            "--region",
            "--endpoint",
            "--ca-file",
            "--timeout",
            "--exchange-timeout",
            "--proxy",
            "--lock-timeout",
            "--store",
            "--client-id",
            "--client-secret",
            "--json",
            "--profile"
        ]
    );
    let help = stdout(&bare().args(["status", "-h"]).output().unwrap());
    assert_eq!(
        section(&help, "Global options:"),
        ["--store", "--json", "--profile"]
    );
    let help = stdout(&bare().args(["mock-server", "-h"]).output().unwrap());
    assert_eq!(
        section(&help, "Global options:"),
        ["--client-id", "--client-secret"]
    );
    let help = stdout(&bare().args(["demo", "-h"]).output().unwrap());
    assert!(!help.contains("Global options:"), "{help}");

    // Given anyway, before or after the subcommand: accepted and ignored, as git's and
    // kubectl's global options are, so that one alias serves every subcommand.
    let o = bare()
        .args([
            "--region",
            "eu",
            "pkce",
            "--store",
            "/tmp/x.json",
            "--timeout",
            "5",
        ])
        .output()
        .unwrap();
    assert_exit(&o, 0, "");
    assert!(stdout(&o).starts_with("code_verifier: "), "{}", stdout(&o));
    // A variable is not an option given: one environment serves every subcommand.
    let o = bare()
        .env("LWA_STORE", "/tmp/x.json")
        .arg("pkce")
        .output()
        .unwrap();
    assert_exit(&o, 0, "");
}

/// Reads a child's lines on a thread of its own, so that it never blocks writing.
fn line_reader(out: impl std::io::Read + Send + 'static) -> std::sync::mpsc::Receiver<String> {
    use std::io::BufRead as _;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(out).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// The next line, within 30 s.
#[track_caller]
fn next_line(rx: &std::sync::mpsc::Receiver<String>) -> String {
    rx.recv_timeout(Duration::from_secs(30))
        .expect("a line within 30 s")
}

/// GET `url` (https://localhost:PORT/...) trusting the CA in `ca_file` only.
fn https_get(url: &str, ca_file: &str) -> String {
    use std::io::{Read as _, Write as _};
    use std::sync::Arc;
    let rest = url.strip_prefix("https://localhost:").unwrap();
    let (port, target) = rest.split_at(rest.find('/').unwrap());
    let pem = std::fs::read(ca_file).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    let cert: rustls::pki_types::CertificateDer<'static> =
        rustls::pki_types::pem::PemObject::from_pem_slice(&pem).unwrap();
    roots.add(cert).unwrap();
    let config =
        rustls::ClientConfig::builder_with_provider(Arc::new(lwa_std::client::crypto_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
    let conn =
        rustls::ClientConnection::new(Arc::new(config), "localhost".try_into().unwrap()).unwrap();
    let tcp = std::net::TcpStream::connect(("127.0.0.1", port.parse::<u16>().unwrap())).unwrap();
    let mut stream = rustls::StreamOwned::new(conn, tcp);
    stream
        .write_all(
            format!("GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

/// Stops a child process however the test ends.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `lwa mock-server --tls` with its own client ID and secret: the other
/// commands work against it with them (and fail with another secret), it logs one line
/// per request without secrets, its printed approve command names the CA file it wrote,
/// and that file is gone after it stops.
#[test]
fn the_mock_server_takes_a_client_logs_requests_and_its_approve_command_works() {
    const ID: &str = "amzn1.application-oa2-client.custom";
    let mut server = Running(
        bare()
            .args([
                "mock-server",
                "--tls",
                "--port",
                "0",
                "--poll-interval",
                "1",
                "--client-id",
                ID,
                "--client-secret",
                "s3cr3t",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let out = line_reader(server.0.stdout.take().unwrap());
    let origin = next_line(&out)
        .strip_prefix("LWA look-alike at ")
        .unwrap()
        .to_owned();
    assert_eq!(next_line(&out), format!("client ID: {ID}"));
    let ca_line = next_line(&out);
    let ca = ca_line
        .strip_prefix("CA certificate: ")
        .and_then(|l| {
            l.strip_suffix(" (pass it with --ca-file; deleted when the look-alike stops)")
        })
        .unwrap_or_else(|| panic!("{ca_line}"))
        .to_owned();
    let approve = next_line(&out);
    let url = approve
        .strip_prefix(&format!("approve a device code: curl --cacert {ca} '"))
        .and_then(|l| l.strip_suffix('\''))
        .unwrap_or_else(|| panic!("{approve}"))
        .to_owned();
    assert_eq!(url, format!("{origin}/mock/approve?user_code=CODE"));
    assert_eq!(
        next_line(&out),
        format!("(or open {origin}/mock/approve in a browser)")
    );
    assert_eq!(next_line(&out), "stop with Ctrl-C");

    let env = env_for(&origin);
    let client = |c: &mut Command| {
        c.args([
            "--ca-file",
            &ca,
            "--client-id",
            ID,
            "--client-secret",
            "s3cr3t",
        ]);
    };
    let mut login = env.command();
    client(&mut login);
    let mut login = Running(
        login
            .args(["device-login", "--product-id", "p", "--serial", "1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let login_err = line_reader(login.0.stderr.take().unwrap());
    let code = loop {
        if let Some(code) = next_line(&login_err)
            .trim()
            .strip_prefix("and enter the code:")
        {
            break code.trim().to_owned();
        }
    };
    // The printed command, as printed, with the code filled in.
    let answer = https_get(&url.replace("CODE", &code), &ca);
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    assert!(login.0.wait().unwrap().success());
    let mut refresh = env.command();
    client(&mut refresh);
    assert_exit(&refresh.arg("refresh").output().unwrap(), 0, "");
    let o = env
        .command()
        .args([
            "--ca-file",
            &ca,
            "--client-id",
            ID,
            "--client-secret",
            "wrong",
            "refresh",
        ])
        .output()
        .unwrap();
    assert_exit(&o, 1, "");
    assert!(stderr(&o).contains("invalid_client"), "{}", stderr(&o));

    // One line per request answered, in order, without secrets or codes.
    let mut log = Vec::new();
    while let Ok(line) = out.recv_timeout(Duration::from_millis(500)) {
        log.push(line);
    }
    let text = log.join("\n");
    for secret in ["s3cr3t", "Atzr|", "Atza|", &code] {
        assert!(!text.contains(secret), "{secret} in\n{text}");
    }
    let pending = "POST /auth/o2/token grant_type=device_code -> 400 authorization_pending";
    let without_pending: Vec<&str> = log
        .iter()
        .map(String::as_str)
        .filter(|l| *l != pending)
        .collect();
    assert_eq!(
        without_pending,
        [
            "POST /auth/O2/create/codepair -> 200 code pair",
            "GET /mock/approve -> 200 approved",
            "POST /auth/o2/token grant_type=device_code -> 200 tokens",
            "POST /auth/o2/token grant_type=refresh_token -> 200 tokens",
            "POST /auth/o2/token grant_type=refresh_token -> 401 invalid_client",
        ],
        "{text}"
    );

    // Stopped: the CA file it wrote is deleted.
    assert!(std::path::Path::new(&ca).exists());
    Command::new("kill")
        .args(["-TERM", &server.0.id().to_string()])
        .status()
        .unwrap();
    let started = Instant::now();
    while server.0.try_wait().unwrap().is_none() && started.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!std::path::Path::new(&ca).exists(), "{ca} left behind");
}

/// A PKCE code verifier shorter than 43 or longer than 128 characters is
/// refused before anything is sent.
#[test]
fn a_code_verifier_of_the_wrong_length_is_refused_before_sending() {
    use lwa_mock::{MockConfig, MockServer};
    let server = MockServer::start(MockConfig::default(), false, 0).unwrap();
    let env = env_for(server.origin());
    for verifier in ["a".repeat(42), "a".repeat(129)] {
        let o = env.run(&[
            "exchange",
            "--client-id",
            CLIENT_ID,
            "--code",
            "c",
            "--redirect-uri",
            "https://example.com/cb",
            "--code-verifier",
            &verifier,
        ]);
        assert_exit(&o, 2, "");
        assert_eq!(
            stderr(&o),
            format!(
                "lwa: --code-verifier: {} characters; a PKCE code verifier has 43 to 128 (make one with `lwa pkce`)\n",
                verifier.len()
            )
        );
    }
    assert_eq!(server.requests(), 0);
}

/// Device-login with stderr not a terminal prints the code once, no QR code
/// and no carriage returns, and a progress line every `--progress-every` seconds.
#[test]
fn device_login_without_a_terminal_shows_the_code_once_then_progress_lines() {
    use lwa_mock::{MockConfig, MockServer};
    let server = MockServer::start(
        MockConfig {
            poll_interval: 1,
            ..MockConfig::default()
        },
        false,
        0,
    )
    .unwrap();
    let env = env_for(server.origin());
    let mut login = Running(
        env.command()
            .args([
                "--client-id",
                CLIENT_ID,
                "device-login",
                "--product-id",
                "p",
                "--serial",
                "1",
                "--progress-every",
                "1",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let err = line_reader(login.0.stderr.take().unwrap());
    let mut lines = Vec::new();
    let code = loop {
        let line = next_line(&err);
        lines.push(line.clone());
        if let Some(code) = line.strip_prefix("  and enter the code:  ") {
            break code.to_owned();
        }
    };
    // Three progress lines, a second apart, then the user approves.
    let mut progress = 0;
    while progress < 3 {
        let line = next_line(&err);
        progress += usize::from(line.starts_with("  waiting for you to enter the code ("));
        lines.push(line);
    }
    assert!(server.approve(&code));
    let status = login.0.wait().unwrap();
    while let Ok(line) = err.recv_timeout(Duration::from_secs(2)) {
        lines.push(line);
    }
    assert!(status.success(), "{lines:?}");
    let text = lines.join("\n");
    assert!(!text.contains('\r'), "{text:?}");
    assert_eq!(text.matches(&code).count(), 2, "{text}");
    assert_eq!(
        lines[..4],
        [
            String::new(),
            format!("  To sign in, open {}/mock/approve", server.origin()),
            format!("  and enter the code:  {code}"),
            format!(
                "  (the local look-alike: or approve with curl '{}/mock/approve?user_code={code}')",
                server.origin()
            ),
        ],
        "{text}"
    );
    // Only progress lines after the code: `  waiting for you to enter the code (M:SS left)`.
    for line in &lines[4..] {
        let left = line
            .strip_prefix("  waiting for you to enter the code (")
            .and_then(|l| l.strip_suffix(" left)"))
            .unwrap_or_else(|| panic!("{line:?} in\n{text}"));
        let (min, sec) = left.split_once(':').unwrap();
        assert!(
            min.parse::<u32>().unwrap() <= 10 && sec.len() == 2,
            "{line}"
        );
    }
}
