//! End to end: what a new user meets first, each tried the way a new user would: where the
//! stored tokens may go, values that begin with `-`, a store of another client, messages
//! that name the host, `status` in scripts, a closed stdout, `http://` to a TLS port, and
//! the look-alike's sign-in page as `device-login` shows it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use lwa_mock::{MockConfig, MockServer};
use lwa_std::core::pkce::CodeVerifier;

mod common;

use common::{CLIENT_ID, Env, assert_exit, bare, now, stderr, stdout};

/// The PKCE verifier of these tests, and an authorization code for it from `server`.
fn pkce_code(server: &MockServer) -> (String, String) {
    let verifier = CodeVerifier::from_random(&[7; 32]).unwrap();
    let text = verifier.as_secret().expose().to_owned();
    let code = server.authorize(
        "https://example.com/cb",
        Some(verifier.challenge().as_str()),
    );
    (text, code)
}

/// Signs in at `server` by `exchange`, with `env`'s options.
fn sign_in(env: &Env, server: &MockServer) {
    let (verifier, code) = pkce_code(server);
    let o = env.run(&[
        "exchange",
        "--client-id",
        CLIENT_ID,
        "--code",
        &code,
        "--redirect-uri",
        "https://example.com/cb",
        "--code-verifier",
        &verifier,
    ]);
    assert_exit(&o, 0, "");
}

#[test]
fn the_store_remembers_where_its_tokens_came_from_and_sends_them_nowhere_else() {
    let server = MockServer::start(MockConfig::default(), true, 0).unwrap();
    let env = Env::new(server.origin(), server.ca_pem());
    sign_in(&env, &server);
    let stored = env.load();
    assert_eq!(stored.origin.as_deref(), Some(server.origin()));
    // The CA file is recorded, absolute, so that it holds from any directory.
    let ca = env.ca.clone().unwrap();
    assert_eq!(stored.ca_file.as_deref(), Some(ca.as_path()));
    assert!(ca.is_absolute());

    let o = env.run(&["status"]);
    assert!(
        stdout(&o).contains(&format!("\nissued by: {}\n", server.origin())),
        "{}",
        stdout(&o)
    );
    // A plain `lwa refresh`, no --endpoint, no --ca-file: the store's origin and CA.
    let o = env.local().args(["refresh"]).output().unwrap();
    assert_exit(&o, 0, "");
    assert_eq!(server.requests(), 2);
    assert!(server.issued(&env.load().access_token));

    // Another origin named: refused before anything is sent, the store unchanged.
    let before = env.store_bytes();
    for other in [
        &["--region", "eu"][..],
        &["--endpoint", "https://api.amazon.com"][..],
    ] {
        let o = env.local().args(other).arg("refresh").output().unwrap();
        assert_exit(
            &o,
            2,
            &format!(
                "lwa: the stored tokens were issued by {origin}, and this would send the refresh \
                 token to {to}: drop --endpoint/--region (and LWA_ENDPOINT) to use {origin}, or \
                 pass --allow-other-origin if {to} should get it",
                origin = server.origin(),
                to = if other[0] == "--region" {
                    "https://api.amazon.co.uk"
                } else {
                    "https://api.amazon.com"
                },
            ),
        );
    }
    // The variable counts as the option does, for `token` too (whether or not the stored
    // access token is still good: the answer does not change with the time).
    for sub in ["token", "refresh"] {
        let o = env
            .local()
            .env("LWA_ENDPOINT", "https://api.amazon.com")
            .arg(sub)
            .output()
            .unwrap();
        assert_exit(&o, 2, "the stored tokens were issued by");
    }
    assert_eq!(env.store_bytes(), before);
    assert_eq!(server.requests(), 2);

    // Told explicitly: the token goes to the other origin (another look-alike, which does
    // not know it).
    let other = MockServer::start(MockConfig::default(), false, 0).unwrap();
    let o = env
        .local()
        .args([
            "--endpoint",
            other.origin(),
            "--allow-other-origin",
            "refresh",
        ])
        .output()
        .unwrap();
    assert_exit(&o, 1, "invalid_grant");
    assert_eq!((server.requests(), other.requests()), (2, 1));
}

#[test]
fn lwa_endpoint_and_lwa_ca_file_are_read_like_the_other_variables() {
    let server = MockServer::start(MockConfig::default(), true, 0).unwrap();
    let env = Env::new(server.origin(), server.ca_pem());
    let (verifier, code) = pkce_code(&server);
    let o = env
        .local()
        .env("LWA_ENDPOINT", server.origin())
        .env("LWA_CA_FILE", env.ca.as_ref().unwrap())
        .env("LWA_CLIENT_ID", CLIENT_ID)
        .env("LWA_CODE_VERIFIER", &verifier)
        .args([
            "exchange",
            "--code",
            &code,
            "--redirect-uri",
            "https://example.com/cb",
        ])
        .output()
        .unwrap();
    assert_exit(&o, 0, "");
    assert_eq!(env.load().origin.as_deref(), Some(server.origin()));
    // Without the CA the same variables fail on the certificate: they were used.
    let (verifier, code) = pkce_code(&server);
    let o = env
        .local()
        .env("LWA_ENDPOINT", server.origin())
        .env("LWA_CLIENT_ID", CLIENT_ID)
        .env("LWA_CODE_VERIFIER", &verifier)
        .args([
            "exchange",
            "--code",
            &code,
            "--redirect-uri",
            "https://example.com/cb",
        ])
        .output()
        .unwrap();
    assert_exit(&o, 3, "pass it with --ca-file");
}

#[test]
fn values_that_begin_with_a_dash_are_values() {
    let server = MockServer::start(MockConfig::default(), false, 0).unwrap();
    let env = Env::new(server.origin(), None).with_client_id();
    // A PKCE verifier that begins with '-' (`lwa pkce` makes one now and then).
    let verifier = format!("-7B52{}", "x".repeat(43));
    let challenge = CodeVerifier::new(&verifier).unwrap().challenge();
    let code = server.authorize("https://example.com/cb", Some(challenge.as_str()));
    let o = env.run(&[
        "exchange",
        "--code",
        &code,
        "--redirect-uri",
        "https://example.com/cb",
        "--code-verifier",
        &verifier,
    ]);
    assert_exit(&o, 0, "");
    // A code and a refresh token that begin with '-' reach the server (which refuses them).
    let o = env.run(&[
        "exchange",
        "--code",
        "-abc",
        "--redirect-uri",
        "https://example.com/cb",
        "--code-verifier",
        &verifier,
    ]);
    assert_exit(&o, 1, "invalid_grant");
    let o = env.run(&["refresh", "--refresh-token", "-Atzr|x"]);
    assert_exit(&o, 1, "invalid_grant");
    // A secret that begins with '-': the look-alike that has it accepts it.
    let secret = MockServer::start(
        MockConfig {
            client_secret: Some("-s3cr3t".into()),
            ..MockConfig::default()
        },
        false,
        0,
    )
    .unwrap();
    let env = Env::new(secret.origin(), None).with_client_id();
    let refresh = secret.issue_refresh_token();
    let o = env.run(&[
        "refresh",
        "--refresh-token",
        &refresh,
        "--client-secret",
        "-s3cr3t",
    ]);
    assert_exit(&o, 0, "");
    let o = env.run(&["refresh", "--client-secret", "-wrong"]);
    assert_exit(&o, 1, "invalid_client");
}

#[test]
fn a_store_of_another_client_says_whose_it_is() {
    let server = MockServer::start(MockConfig::default(), false, 0).unwrap();
    let env = Env::new(server.origin(), None);
    env.save("Atza|a", "Atzr|r", now() + 3600);
    let o = env.run(&["token", "--client-id", "amzn1.application-oa2-client.other"]);
    assert_exit(
        &o,
        2,
        &format!(
            "lwa: not signed in as client amzn1.application-oa2-client.other: {} holds the tokens \
             of client {CLIENT_ID} (pass --client-id {CLIENT_ID} to use them, or sign in as \
             amzn1.application-oa2-client.other with `lwa device-login` or `lwa exchange`)\n",
            env.store().display()
        ),
    );
    assert_eq!(server.requests(), 0);
}

#[test]
fn a_name_that_does_not_resolve_is_named() {
    let env = Env::new("https://no-such-host.invalid", None).with_client_id();
    let o = env.run(&["refresh", "--refresh-token", "Atzr|x", "--timeout", "5"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.starts_with("lwa: cannot resolve no-such-host.invalid: ")
            || err.starts_with("lwa: timed out talking to no-such-host.invalid:443"),
        "{err}"
    );
}

#[test]
fn plain_http_to_a_tls_port_says_so() {
    let server = MockServer::start(MockConfig::default(), true, 0).unwrap();
    let at = format!("127.0.0.1:{}", server.port());
    let env = Env::new(&format!("http://{at}"), None).with_client_id();
    let o = env.run(&["refresh", "--refresh-token", "Atzr|x"]);
    assert_exit(
        &o,
        3,
        &format!("lwa: {at} answered in TLS, not plain HTTP: use https://{at}\n"),
    );
}

#[test]
fn status_exits_1_when_not_signed_in_and_2_on_a_usage_error() {
    let env = Env::new("http://127.0.0.1:9", None);
    let o = env.run(&["status"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("signed in: no"), "{}", stdout(&o));
    let o = env.run(&["status", "--no-such-option"]);
    assert_eq!(o.status.code(), Some(2));
    env.save("Atza|a", "Atzr|r", now() + 3600);
    assert_eq!(env.run(&["status"]).status.code(), Some(0));
}

/// `lwa status | head -1`: the reader is gone before lwa writes. lwa ends quietly by
/// SIGPIPE, as `yes | head` does, and a full disk stays an error (tested elsewhere).
#[cfg(unix)]
#[test]
fn a_closed_stdout_is_a_quiet_sigpipe() {
    use std::os::unix::process::ExitStatusExt as _;
    let env = Env::new("http://127.0.0.1:9", None);
    env.save("Atza|a", "Atzr|r", now() + 3600);
    for args in [&["status"][..], &["token"][..], &["pkce"][..]] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let o = env
            .local()
            .args(args)
            .stdout(Stdio::from(writer))
            .output()
            .unwrap();
        assert_eq!(o.status.signal(), Some(13), "{args:?}: {:?}", o.status);
        assert_eq!(stderr(&o), "", "{args:?}");
    }
    // The store was not touched by the failed writes.
    assert_eq!(env.load().access_token, "Atza|a");
}

#[test]
fn device_login_at_the_look_alike_shows_how_to_approve_from_here() {
    let server = MockServer::start(
        MockConfig {
            poll_interval: 1,
            ..MockConfig::default()
        },
        true,
        0,
    )
    .unwrap();
    let env = Env::new(server.origin(), server.ca_pem()).with_client_id();
    let mut child = env
        .command()
        .args(["device-login", "--product-id", "p", "--serial", "s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let started = Instant::now();
    let mut code = None;
    let mut approve = None;
    while approve.is_none() && started.elapsed() < Duration::from_secs(20) {
        let Some(Ok(line)) = lines.next() else { break };
        if let Some(c) = line.strip_prefix("  and enter the code:  ") {
            code = Some(c.to_owned());
        }
        if let Some(cmd) = line.strip_prefix("  (the local look-alike: or approve with ") {
            approve = Some(cmd.trim_end_matches(')').to_owned());
        }
    }
    let code = code.expect("no code shown");
    let ca = env.ca.as_ref().unwrap().display().to_string();
    assert_eq!(
        approve.as_deref(),
        Some(
            format!(
                "curl --cacert {ca} '{}/mock/approve?user_code={code}'",
                server.origin()
            )
            .as_str()
        )
    );
    // As a person would type it: lower case, a space in the middle.
    let typed = format!("{} {}", &code[..3], &code[3..]).to_lowercase();
    assert!(server.approve(&typed));
    let status = child.wait().unwrap();
    assert!(status.success());
    assert!(server.issued(&env.load().access_token));
}

#[test]
fn the_help_of_token_and_refresh_lists_the_origin_option_and_sign_in_does_not() {
    let section = |sub: &str| {
        let help = stdout(&bare().args([sub, "-h"]).output().unwrap());
        help.contains("--allow-other-origin")
    };
    assert!(section("token") && section("refresh"));
    assert!(!section("exchange") && !section("device-login"));
}
