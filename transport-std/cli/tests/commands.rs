//! End to end: the `lwa` command over real loopback sockets, HTTP and HTTPS, against the
//! look-alike and against hostile servers. Every failure is checked for its exit code, its
//! message and an untouched store.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use lwa_mock::{MockConfig, MockServer, Pki};
use lwa_std::core::pkce::CodeVerifier;
use lwa_std::store::{FileStore, StoredTokens};

mod common;

use common::{CLIENT_ID, Env, assert_exit, now, stderr, stdout};

fn secret_server(tls: bool, rotate: bool) -> MockServer {
    MockServer::start(
        MockConfig {
            client_secret: Some("s3cr3t".into()),
            rotate_refresh_tokens: rotate,
            ..MockConfig::default()
        },
        tls,
        0,
    )
    .unwrap()
}

#[test]
fn exchange_with_secret_over_https_then_reused_code() {
    let server = secret_server(true, false);
    let env = Env::new(server.origin(), server.ca_pem());
    let code = server.authorize("https://example.com/cb", None);
    let args = [
        "exchange",
        "--code",
        &code,
        "--redirect-uri",
        "https://example.com/cb",
        "--client-id",
        CLIENT_ID,
        "--client-secret",
        "s3cr3t",
    ];
    let o = env.run(&args);
    assert_exit(&o, 0, "");
    assert!(
        stdout(&o).starts_with("signed in: access token valid for 1 h (until "),
        "{}",
        stdout(&o)
    );
    let stored = env.load();
    assert!(server.issued(&stored.access_token));
    assert!(
        !stdout(&o).contains(&stored.access_token) && !stdout(&o).contains(&stored.refresh_token)
    );
    assert!(!stdout(&o).contains("s3cr3t") && !stderr(&o).contains("s3cr3t"));
    assert!((now() + 3595..=now() + 3600).contains(&stored.expires_at));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(env.store()).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    // The same code again: invalid_grant, exit 1, store untouched.
    let before = env.store_bytes();
    let o = env.run(&args);
    assert_exit(
        &o,
        1,
        "lwa: invalid_grant: The request has an invalid grant parameter : code (HTTP 400)",
    );
    assert_eq!(env.store_bytes(), before);
    // A wrong secret: invalid_client.
    let code = server.authorize("https://example.com/cb", None);
    let mut bad = args;
    bad[2] = &code;
    bad[8] = "wrong";
    let o = env.run(&bad);
    assert_exit(
        &o,
        1,
        "invalid_client: Client authentication failed (HTTP 401)",
    );
    assert_eq!(env.store_bytes(), before);
}

#[test]
fn exchange_with_pkce_and_json_output() {
    let server = MockServer::start(MockConfig::default(), false, 0).unwrap();
    let env = Env::new(server.origin(), server.ca_pem());
    let verifier = CodeVerifier::from_random(&[9; 32]).unwrap();
    let challenge = verifier.challenge();
    let code = server.authorize("amzn://cb", Some(challenge.as_str()));
    let o = env.run(&[
        "--json",
        "exchange",
        "--code",
        &code,
        "--redirect-uri",
        "amzn://cb",
        "--code-verifier",
        verifier.as_secret().expose(),
        "--client-id",
        CLIENT_ID,
    ]);
    assert_exit(&o, 0, "");
    let json: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    let keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut keys = keys;
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "access_token",
            "expires_at",
            "expires_at_rfc3339",
            "expires_in",
            "refresh_token",
            "token_type"
        ]
    );
    let stored = env.load();
    assert_eq!(json["access_token"], stored.access_token.as_str());
    assert_eq!(json["refresh_token"], stored.refresh_token.as_str());
    assert_eq!(json["expires_in"], 3600);
    assert_eq!(json["expires_at"], stored.expires_at);
    assert_eq!(json["token_type"], "bearer");
    // A wrong verifier is refused.
    let code = server.authorize("amzn://cb", Some(challenge.as_str()));
    let other = CodeVerifier::from_random(&[8; 32]).unwrap();
    let before = env.store_bytes();
    let o = env.run(&[
        "exchange",
        "--code",
        &code,
        "--redirect-uri",
        "amzn://cb",
        "--code-verifier",
        other.as_secret().expose(),
        "--client-id",
        CLIENT_ID,
    ]);
    assert_exit(
        &o,
        1,
        "invalid_grant: The request has an invalid grant parameter : code_verifier",
    );
    assert_eq!(env.store_bytes(), before);
}

#[test]
fn refresh_rotates_and_keeps_client_id_and_options_after_the_subcommand() {
    let server = secret_server(true, true);
    let env = Env::new(server.origin(), server.ca_pem());
    let first = server.issue_refresh_token();
    env.save("", &first, 0);
    // Global options after the subcommand work too.
    let o = env.run(&["refresh", "--client-secret", "s3cr3t", "--json"]);
    assert_exit(&o, 0, "");
    let stored = env.load();
    assert_ne!(stored.refresh_token, first, "rotated");
    assert_eq!(stored.client_id, CLIENT_ID);
    assert!(server.issued(&stored.access_token));
    // The old one is now dead: invalid_grant, store untouched.
    let before = env.store_bytes();
    let o = env.run(&[
        "refresh",
        "--refresh-token",
        &first,
        "--client-secret",
        "s3cr3t",
    ]);
    assert_exit(&o, 1, "invalid_grant");
    assert_eq!(env.store_bytes(), before);
    // No secret for a confidential client: invalid_client.
    let o = env.run(&["refresh"]);
    assert_exit(&o, 1, "invalid_client");
    assert_eq!(env.store_bytes(), before);
}

#[test]
fn token_sends_nothing_while_the_stored_one_is_good_and_refreshes_near_expiry() {
    let server = MockServer::start(MockConfig::default(), true, 0).unwrap();
    let env = Env::new(server.origin(), server.ca_pem());
    let refresh = server.issue_refresh_token();
    env.save("Atza|still-good", &refresh, now() + 3000);
    let o = env.run(&["token"]);
    assert_exit(&o, 0, "");
    assert_eq!(stdout(&o), "Atza|still-good\n");
    assert_eq!(server.requests(), 0);
    // Within the 10-minute margin: one refresh, the new token printed and saved.
    env.save("Atza|nearly-gone", &refresh, now() + 500);
    let o = env.run(&["token"]);
    assert_exit(&o, 0, "");
    assert_eq!(server.requests(), 1);
    let stored = env.load();
    assert_eq!(stdout(&o), format!("{}\n", stored.access_token));
    assert!(server.issued(&stored.access_token));
    assert_eq!(
        stored.refresh_token, refresh,
        "an answer without rotation keeps the token"
    );
}

#[test]
fn concurrent_token_commands_refresh_once() {
    let server = MockServer::start(MockConfig::default(), false, 0).unwrap();
    let env = Env::new(server.origin(), server.ca_pem());
    let refresh = server.issue_refresh_token();
    env.save("Atza|old", &refresh, now());
    let children: Vec<_> = (0..4)
        .map(|_| {
            env.command()
                .arg("token")
                .stdout(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<String> = children
        .into_iter()
        .map(|c| stdout(&c.wait_with_output().unwrap()))
        .collect();
    assert_eq!(
        server.requests(),
        1,
        "the lock lets one process refresh; the others reuse it"
    );
    let stored = env.load();
    for o in outputs {
        assert_eq!(o, format!("{}\n", stored.access_token));
    }
}

#[test]
fn device_login_with_a_person_approving_the_shown_code() {
    let server = MockServer::start(
        MockConfig {
            poll_interval: 1,
            ..MockConfig::default()
        },
        false,
        0,
    )
    .unwrap();
    let env = Env::new(server.origin(), server.ca_pem());
    let mut child = env
        .command()
        .args([
            "device-login",
            "--product-id",
            "my_device",
            "--serial",
            "12345",
            "--client-id",
            CLIENT_ID,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let (mut uri, mut code) = (None, None);
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(u) = line.trim().strip_prefix("To sign in, open ") {
            uri = Some(u.to_owned());
        }
        if let Some(c) = line.trim().strip_prefix("and enter the code:") {
            code = Some(c.trim().to_owned());
            break;
        }
    }
    let (uri, code) = (uri.unwrap(), code.unwrap());
    assert_eq!(uri, format!("{}/mock/approve", server.origin()));
    // The person opens the page and enters the code.
    let approve = format!(
        "GET /mock/approve?user_code={code} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    );
    let mut s = TcpStream::connect(("127.0.0.1", server.port())).unwrap();
    s.write_all(approve.as_bytes()).unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    let _rest: Vec<_> = lines.collect();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stdout(&out).starts_with("signed in: access token valid for"),
        "{}",
        stdout(&out)
    );
    let stored = env.load();
    assert!(server.issued(&stored.access_token));
    assert_eq!(stored.client_id, CLIENT_ID);
}

#[test]
fn device_login_json_against_an_auto_approving_server() {
    let server = MockServer::start(
        MockConfig {
            poll_interval: 1,
            auto_approve: true,
            ..MockConfig::default()
        },
        true,
        0,
    )
    .unwrap();
    let env = Env::new(server.origin(), server.ca_pem());
    let o = env.run(&[
        "device-login",
        "--product-id",
        "p",
        "--serial",
        "1",
        "--client-id",
        CLIENT_ID,
        "--json",
    ]);
    assert_exit(&o, 0, "enter the code:");
    let json: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    let stored = env.load();
    assert_eq!(json["access_token"], stored.access_token.as_str());
    assert_eq!(json["refresh_token"], stored.refresh_token.as_str());
    let o = env.run(&[
        "device-login",
        "--product-id",
        "p",
        "--serial",
        "1",
        "--scope",
        "profile",
    ]);
    assert_exit(
        &o,
        2,
        "--scope profile: code-based linking for AVS takes alexa:all",
    );
}

#[test]
fn pkce_prints_a_matching_pair() {
    let o = Command::new(env!("CARGO_BIN_EXE_lwa"))
        .args(["pkce", "--json"])
        .output()
        .unwrap();
    assert_exit(&o, 0, "");
    let json: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    let verifier = json["code_verifier"].as_str().unwrap();
    assert_eq!(verifier.len(), 43);
    let expected = CodeVerifier::new(verifier).unwrap().challenge();
    assert_eq!(json["code_challenge"], expected.as_str());
    assert_eq!(json["code_challenge_method"], "S256");
    let o = Command::new(env!("CARGO_BIN_EXE_lwa"))
        .arg("pkce")
        .output()
        .unwrap();
    let text = stdout(&o);
    assert!(
        text.starts_with("code_verifier: ") && text.contains("\ncode_challenge_method: S256\n"),
        "{text}"
    );
}

#[test]
fn demo_runs_from_start_to_end() {
    let o = Command::new(env!("CARGO_BIN_EXE_lwa"))
        .arg("demo")
        .output()
        .unwrap();
    assert_exit(&o, 0, "enter the code:");
    let text = stdout(&o);
    for step in [
        "1. Started the look-alike at https://localhost:",
        "signed in: a 370-character access token",
        "new access token received, saved",
        "requests before and after: 3 and 3",
        "refresh answered: invalid_grant",
        "the dead refresh token is forgotten: the store is deleted",
    ] {
        assert!(text.contains(step), "missing {step:?} in\n{text}");
    }
}

#[test]
fn usage_and_configuration_errors_exit_2() {
    let env = Env::new("http://127.0.0.1:9", None);
    let cases: &[(&[&str], &str)] = &[
        (
            &["--endpoint", "http://api.amazon.com", "token"],
            "plain http:// is refused for hosts other than loopback",
        ),
        (&["--endpoint", "ftp://x", "token"], "unsupported scheme"),
        (&["--timeout", "0", "token"], "--timeout"),
        (&["--region", "us", "token"], "--region"),
        (&["token"], "not signed in"),
        (
            &["refresh", "--client-id", CLIENT_ID],
            "not signed in: no refresh token stored",
        ),
        (
            &["exchange", "--code", "c", "--redirect-uri", "u"],
            "no client ID",
        ),
        (
            &[
                "exchange",
                "--code",
                "c",
                "--redirect-uri",
                "u",
                "--client-id",
                "x",
            ],
            "no client secret and no --code-verifier",
        ),
        (
            &["--ca-file", "/nonexistent.pem", "token"],
            "CA file /nonexistent.pem",
        ),
        (&["frobnicate"], "unrecognized subcommand"),
    ];
    for (args, message) in cases {
        let mut c = Command::new(env!("CARGO_BIN_EXE_lwa"));
        c.env_remove("LWA_STORE")
            .env_remove("LWA_CLIENT_ID")
            .env_remove("LWA_CLIENT_SECRET");
        if !args.contains(&"--endpoint") {
            c.args(["--endpoint", &env.origin]);
        }
        let o = c
            .arg("--store")
            .arg(env.store())
            .args(*args)
            .output()
            .unwrap();
        assert_exit(&o, 2, message);
    }
    std::fs::write(env.store(), b"{not json").unwrap();
    let o = env.run(&["token"]);
    assert_exit(&o, 2, "is not a token store");
    assert_eq!(env.store_bytes().unwrap(), b"{not json");
}

/// A server that reads one request per connection and answers with scripted bytes (or
/// nothing, to stall), over TCP or TLS.
fn hostile(answer: Vec<u8>, tls: Option<Arc<rustls::ServerConfig>>, stall: bool) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let answer = answer.clone();
            let tls = tls.clone();
            thread::spawn(move || {
                stream
                    .set_read_timeout(Some(Duration::from_secs(5)))
                    .unwrap();
                let serve = |io: &mut dyn ReadWrite| {
                    let mut got = Vec::new();
                    let mut buf = [0u8; 4096];
                    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                        match io.read(&mut buf) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => got.extend_from_slice(&buf[..n]),
                        }
                    }
                    if stall {
                        thread::sleep(Duration::from_secs(4));
                        return;
                    }
                    let _ = io.write_all(&answer);
                    let _ = io.flush();
                };
                match tls {
                    Some(config) => {
                        let conn = rustls::ServerConnection::new(config).unwrap();
                        let mut s = rustls::StreamOwned::new(conn, stream);
                        serve(&mut s);
                        s.conn.send_close_notify();
                        let _ = s.flush();
                    }
                    None => serve(&mut { stream }),
                }
            });
        }
    });
    port
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

fn hostile_env(answer: &[u8], tls: bool) -> Env {
    let (config, ca) = if tls {
        let pki = Pki::new("hostile test CA").unwrap();
        (
            Some(pki.server_config(&["localhost"]).unwrap()),
            Some(pki.ca_pem().to_owned()),
        )
    } else {
        (None, None)
    };
    let port = hostile(answer.to_vec(), config, false);
    let scheme = if tls {
        "https://localhost"
    } else {
        "http://127.0.0.1"
    };
    let env = Env::new(&format!("{scheme}:{port}"), ca.as_deref());
    env.save("Atza|expired", "Atzr|stored", now());
    env
}

#[test]
fn hostile_answers_exit_3_and_leave_the_store_alone() {
    let big = format!(
        "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n{}",
        "x".repeat(1000)
    );
    let cases: &[(&[u8], &str)] = &[
        (b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n{\"access_token\":\"Atza|x\"", "connection closed before the response was complete"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "malformed chunked encoding"),
        (big.as_bytes(), "response body larger than"),
        (b"HTTP/1.1 302 Found\r\nLocation: https://evil.example/steal\r\nContent-Length: 0\r\n\r\n", "redirect (HTTP 302) refused"),
        (b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/html\r\nContent-Length: 13\r\n\r\n<html></html>", "HTTP status 500 without an OAuth error body"),
        (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n[]", "token response: wrong JSON type"),
        (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 20\r\n\r\n{\"token_type\":\"x\"}  ", "token response: member `access_token`: missing"),
        (b"SSH-2.0-OpenSSH_9.6\r\n\r\n", "malformed response head: not an HTTP/1.x response"),
        (b"", "connection closed before the response was complete"),
    ];
    for tls in [false, true] {
        for (answer, message) in cases {
            let env = hostile_env(answer, tls);
            let before = env.store_bytes();
            let o = env.run(&["token", "--client-id", CLIENT_ID]);
            assert_exit(&o, 3, message);
            assert_eq!(env.store_bytes(), before, "tls {tls}: {message}");
        }
    }
}

#[test]
fn a_refresh_answer_without_refresh_token_keeps_the_stored_one() {
    let body = r#"{"access_token":"Atza|new","token_type":"bearer","expires_in":3600}"#;
    let answer = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let env = hostile_env(answer.as_bytes(), true);
    let o = env.run(&["refresh", "--client-id", CLIENT_ID]);
    assert_exit(&o, 0, "");
    let stored = env.load();
    assert_eq!(
        (stored.access_token.as_str(), stored.refresh_token.as_str()),
        ("Atza|new", "Atzr|stored")
    );
}

#[test]
fn a_stalling_server_times_out() {
    let port = hostile(Vec::new(), None, true);
    let env = Env::new(&format!("http://127.0.0.1:{port}"), None);
    env.save("", "Atzr|stored", 0);
    let before = env.store_bytes();
    let started = std::time::Instant::now();
    let o = env.run(&["refresh", "--client-id", CLIENT_ID, "--timeout", "1"]);
    assert_exit(&o, 3, "timed out");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(env.store_bytes(), before);
}

/// Refreshes against a TLS server presenting `config`'s certificate while trusting
/// `trusted`'s CA; the refresh must fail with exit 3 and `message`, leaving the store alone.
fn refused_over_tls(config: Arc<rustls::ServerConfig>, trusted: &Pki, message: &str) {
    let port = hostile(b"HTTP/1.1 200 OK\r\n\r\n".to_vec(), Some(config), false);
    let env = Env::new(&format!("https://localhost:{port}"), Some(trusted.ca_pem()));
    env.save("", "Atzr|stored", 0);
    let before = env.store_bytes();
    let o = env.run(&["refresh", "--client-id", CLIENT_ID]);
    assert_exit(&o, 3, message);
    assert_eq!(env.store_bytes(), before);
}

#[test]
fn certificates_for_another_host_or_from_an_unknown_ca_are_refused() {
    let pki = Pki::new("test CA").unwrap();
    // Signed by the trusted CA, but for another name.
    refused_over_tls(
        pki.server_config(&["example.com"]).unwrap(),
        &pki,
        "TLS: invalid peer certificate: certificate not valid for name \"localhost\"",
    );
    // The right name, but a CA nobody trusts.
    let stranger = Pki::new("stranger CA").unwrap();
    refused_over_tls(
        stranger.server_config(&["localhost"]).unwrap(),
        &pki,
        "TLS: invalid peer certificate: UnknownIssuer",
    );
}

/// The writer half of the crash test: saves numbered token pairs as fast as it can until
/// killed. Runs only when the parent test starts it.
#[test]
fn crash_writer_child() {
    let Some(path) = std::env::var_os("LWA_CRASH_STORE") else {
        return;
    };
    let store = FileStore::new(PathBuf::from(path));
    for n in 0u64.. {
        store
            .save(&StoredTokens {
                client_id: CLIENT_ID.into(),
                access_token: format!("Atza|{n}|{}", "a".repeat(300)),
                refresh_token: format!("Atzr|{n}|{}", "r".repeat(300)),
                token_type: "bearer".into(),
                expires_at: n,
                origin: None,
                ca_file: None,
            })
            .unwrap();
    }
}

#[test]
fn killing_a_writer_at_random_points_never_corrupts_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.json");
    let runs: u64 = std::env::var("LWA_CRASH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut seen_versions = 0;
    for _ in 0..runs {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "crash_writer_child",
                "--exact",
                "--test-threads=1",
                "--nocapture",
            ])
            .env("LWA_CRASH_STORE", &path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        thread::sleep(Duration::from_millis(20 + seed % 80));
        child.kill().unwrap(); // SIGKILL: no destructor, no flush, mid-write
        child.wait().unwrap();
        let Some(stored) = check_store(&path) else {
            continue;
        };
        seen_versions += 1;
        let n = stored.expires_at;
        assert_eq!(stored.access_token, format!("Atza|{n}|{}", "a".repeat(300)));
        assert_eq!(
            stored.refresh_token,
            format!("Atzr|{n}|{}", "r".repeat(300))
        );
    }
    assert!(
        seen_versions > runs / 2,
        "the writer wrote in most runs ({seen_versions}/{runs})"
    );
}

fn check_store(path: &Path) -> Option<StoredTokens> {
    // Either no file yet, or a whole, parseable store: never a torn one.
    match std::fs::read(path) {
        Err(_) => None,
        Ok(bytes) => {
            Some(serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                panic!("torn store ({e}): {}", String::from_utf8_lossy(&bytes))
            }))
        }
    }
}

/// `lwa mock-server` as a process: it prints its origin and client ID (and, with `--tls`, a
/// CA file), and the other subcommands work against it.
#[test]
fn the_mock_server_command_serves_the_other_commands() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    /// Stops the server process however the test ends: SIGTERM, so that it deletes the CA
    /// file it wrote, then SIGKILL if it is still there.
    struct Running(std::process::Child);
    impl Drop for Running {
        fn drop(&mut self) {
            let _ = Command::new("kill")
                .args(["-TERM", &self.0.id().to_string()])
                .status();
            for _ in 0..200 {
                if !matches!(self.0.try_wait(), Ok(None)) {
                    break;
                }
                thread::sleep(Duration::from_millis(10));
            }
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut server = Running(
        Command::new(env!("CARGO_BIN_EXE_lwa"))
            .args(["mock-server", "--tls", "--port", &port.to_string()])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(server.0.stdout.take().unwrap()).lines();
    let mut info = std::collections::HashMap::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if line.starts_with("stop with") {
            break;
        }
        if let Some((k, v)) = line.split_once(": ").or_else(|| line.split_once(" at ")) {
            info.insert(k.to_owned(), v.to_owned());
        }
    }
    let origin = info["LWA look-alike"].clone();
    assert_eq!(origin, format!("https://localhost:{port}"));
    assert_eq!(info["client ID"], CLIENT_ID);
    let ca_path = info["CA certificate"]
        .split(" (")
        .next()
        .unwrap()
        .to_owned();
    let ca = std::fs::read_to_string(&ca_path).unwrap();
    let env = Env::new(&origin, Some(&ca));
    // Device login against the process, approved by "the user" through its HTTP endpoint.
    let mut login = env
        .command()
        .args([
            "device-login",
            "--product-id",
            "p",
            "--serial",
            "1",
            "--client-id",
            CLIENT_ID,
            "--json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr_lines = BufReader::new(login.stderr.take().unwrap()).lines();
    let code = stderr_lines
        .by_ref()
        .map(Result::unwrap)
        .find_map(|l| {
            l.trim()
                .strip_prefix("and enter the code:")
                .map(|c| c.trim().to_owned())
        })
        .unwrap();
    // Keep reading what it says, so that it never writes into a closed pipe.
    let drain = thread::spawn(move || stderr_lines.count());
    let tls = {
        let mut roots = rustls::RootCertStore::empty();
        let cert: rustls::pki_types::CertificateDer<'static> =
            rustls::pki_types::pem::PemObject::from_pem_slice(ca.as_bytes()).unwrap();
        roots.add(cert).unwrap();
        rustls::ClientConfig::builder_with_provider(Arc::new(lwa_std::client::crypto_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth()
    };
    let conn =
        rustls::ClientConnection::new(Arc::new(tls), "localhost".try_into().unwrap()).unwrap();
    let mut stream =
        rustls::StreamOwned::new(conn, TcpStream::connect(("127.0.0.1", port)).unwrap());
    stream
        .write_all(format!("GET /mock/approve?user_code={code} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes())
        .unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    assert!(
        answer.starts_with(b"HTTP/1.1 200 OK"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    let out = login.wait_with_output().unwrap();
    drain.join().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let json: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(json["refresh_token"], env.load().refresh_token.as_str());
    // And a refresh and a token after it.
    assert_exit(&env.run(&["refresh"]), 0, "");
    let o = env.run(&["token"]);
    assert_exit(&o, 0, "");
    assert_eq!(stdout(&o), format!("{}\n", env.load().access_token));
}

/// A revoked refresh token is dead: the refresh that meets `invalid_grant` forgets it, the
/// store's copy too, so `status` says to sign in again and `token` serves nothing old. A
/// refresh token given on the command line that LWA refuses says nothing of the stored
/// one: the store stays as it was.
#[test]
fn a_revoked_refresh_token_is_forgotten_and_a_refused_given_one_leaves_the_store() {
    let server = MockServer::start(MockConfig::default(), false, 0).unwrap();
    let env = Env::new(server.origin(), None);
    env.save("Atza|old", &server.issue_refresh_token(), now() - 10);
    assert_eq!(server.revoke_all(), 1);
    let o = env.run(&["token"]);
    assert_exit(&o, 1, "invalid_grant");
    assert_eq!(env.store_bytes(), None);
    let o = env.run(&["status"]);
    assert_exit(&o, 1, "");
    assert!(stdout(&o).starts_with("signed in: no (run `lwa device-login` or `lwa exchange`)\n"));
    let o = env.run(&["token"]);
    assert_exit(&o, 2, "not signed in");
    assert_eq!(stdout(&o), "");

    let good = server.issue_refresh_token();
    env.save("Atza|a", &good, now() + 3600);
    let before = env.store_bytes();
    let o = env
        .command()
        .args([
            "--client-id",
            CLIENT_ID,
            "refresh",
            "--refresh-token",
            "Atzr|dead",
        ])
        .output()
        .unwrap();
    assert_exit(&o, 1, "invalid_grant");
    assert_eq!(env.store_bytes(), before);
}

/// Logout means gone: the store, its lock file and any temporary copy a killed writer left
/// behind are deleted; no file in the directory holds a byte of the tokens.
#[test]
fn logout_leaves_no_copy_of_the_tokens() {
    let env = Env::new("http://127.0.0.1:9", None);
    env.save(
        "Atza|gone-after-logout",
        "Atzr|gone-after-logout",
        now() + 3600,
    );
    // What a writer killed between writing and renaming leaves.
    let stale = env.dir.path().join(".tokens.json.42.0123456789abcdef.tmp");
    std::fs::copy(env.store(), &stale).unwrap();
    let o = env.run(&["logout"]);
    assert_exit(&o, 0, "");
    let left: Vec<String> = std::fs::read_dir(env.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(left, Vec::<String>::new());
}
