//! End to end: tokens for other programs. `lwa exec` hands a command a valid token in its
//! environment and becomes it; `lwa token --min-valid` refreshes ahead as asked; `--json`
//! gives the expiry in Unix seconds and RFC 3339.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests

use lwa_mock::{MockConfig, MockServer};

mod common;

use common::{Env, assert_exit, now, stdout};

#[test]
fn exec_hands_the_token_in_the_environment_and_passes_the_exit_status_through() {
    let server = MockServer::start(MockConfig::default(), false, 0).unwrap();
    let env = Env::new(server.origin(), None);
    env.save("Atza|stored", "Atzr|stored", now() + 3600);
    let o = env
        .command()
        .env("LWA_CLIENT_SECRET", "s3cr3t")
        .env("LWA_REFRESH_TOKEN", "Atzr|given")
        .env("LWA_CODE", "c0de")
        .env("LWA_CODE_VERIFIER", "v3rifier")
        .args([
            "exec",
            "--",
            "sh",
            "-c",
            r#"printf '%s|' "$LWA_ACCESS_TOKEN" "$0" "$@" "${LWA_CLIENT_SECRET-unset}" "${LWA_REFRESH_TOKEN-unset}" "${LWA_CODE-unset}" "${LWA_CODE_VERIFIER-unset}"; exit 7"#,
            "zero",
            "--one",
            "two words",
        ])
        .output()
        .unwrap();
    assert_exit(&o, 7, "");
    assert_eq!(
        stdout(&o),
        "Atza|stored|zero|--one|two words|unset|unset|unset|unset|"
    );
    assert_eq!(server.requests(), 0);
    // Another variable name.
    let o = env
        .command()
        .args([
            "exec",
            "--env-name",
            "TOKEN",
            "--",
            "sh",
            "-c",
            r#"printf %s "$TOKEN""#,
        ])
        .output()
        .unwrap();
    assert_exit(&o, 0, "");
    assert_eq!(stdout(&o), "Atza|stored");
    let o = env
        .command()
        .args(["exec", "--env-name", "9X", "--", "true"])
        .output()
        .unwrap();
    assert_exit(&o, 2, "a variable name is a letter or _");
}

#[test]
fn exec_says_when_the_command_cannot_run_as_shells_do() {
    let env = Env::new("http://127.0.0.1:9", None);
    env.save("Atza|stored", "Atzr|stored", now() + 3600);
    let o = env
        .command()
        .args(["exec", "--", "no-such-command-anywhere"])
        .output()
        .unwrap();
    assert_exit(&o, 127, "lwa: cannot run no-such-command-anywhere: ");
    let plain = env.dir.path().join("not-executable");
    std::fs::write(&plain, "#!/bin/sh\n").unwrap();
    let o = env
        .command()
        .arg("exec")
        .arg("--")
        .arg(&plain)
        .output()
        .unwrap();
    assert_exit(&o, 126, "lwa: cannot run ");
    // Without a command: a usage error.
    let o = env.command().args(["exec"]).output().unwrap();
    assert_exit(&o, 2, "");
    // Not signed in: the command never runs.
    let marker = env.dir.path().join("ran");
    let o = env
        .command_for(&env.dir.path().join("none.json"))
        .args(["exec", "--", "touch"])
        .arg(&marker)
        .output()
        .unwrap();
    assert_exit(&o, 2, "not signed in");
    assert!(!marker.exists());
}

#[test]
fn min_valid_refreshes_ahead_as_asked() {
    let server = MockServer::start(MockConfig::default(), false, 0).unwrap();
    let env = Env::new(server.origin(), None);
    let refresh = server.issue_refresh_token();
    // 30 minutes left: good for --min-valid 20m, not for 45m.
    env.save("Atza|stored", &refresh, now() + 1800);
    let o = env.run(&["token", "--min-valid", "20m"]);
    assert_exit(&o, 0, "");
    assert_eq!(stdout(&o), "Atza|stored\n");
    assert_eq!(server.requests(), 0);
    let o = env
        .command()
        .args([
            "exec",
            "--min-valid",
            "45m",
            "--",
            "sh",
            "-c",
            r#"printf %s "$LWA_ACCESS_TOKEN""#,
        ])
        .output()
        .unwrap();
    assert_exit(&o, 0, "");
    assert_eq!(server.requests(), 1);
    assert!(server.issued(&stdout(&o)), "{}", stdout(&o));
    assert_eq!(env.load().access_token, stdout(&o));
    // More than LWA's tokens last (an hour): refreshed, saved, and refused.
    let o = env.run(&["token", "--min-valid", "2h"]);
    assert_exit(
        &o,
        1,
        "lwa: LWA handed out a token valid for 1 h, less than --min-valid 2 h: ask for less\n",
    );
    assert_eq!(stdout(&o), "");
    assert_eq!(server.requests(), 2);
    // Spans people write; nonsense is a usage error.
    for bad in ["10", "1.5h", "25h", "5d"] {
        let o = env.run(&["token", "--min-valid", bad]);
        if bad == "10" {
            assert_exit(&o, 0, "");
        } else {
            assert_exit(
                &o,
                2,
                "error: invalid value for one of the arguments: --min-valid <DURATION>: not a span: write 90s, 10m, 1h or 1h30m (at most 24h)",
            );
        }
    }
}

#[test]
fn json_gives_the_expiry_in_unix_seconds_and_rfc_3339() {
    let server = MockServer::start(MockConfig::default(), false, 0).unwrap();
    let env = Env::new(server.origin(), None);
    let at = now() + 3000;
    env.save("Atza|stored", &server.issue_refresh_token(), at);
    let o = env.run(&["token", "--json"]);
    assert_exit(&o, 0, "");
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let gnu = std::process::Command::new("date")
        .args(["-u", "-d", &format!("@{at}"), "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .unwrap();
    let expected = String::from_utf8(gnu.stdout).unwrap();
    assert_eq!(json["expires_at"], at);
    assert_eq!(json["expires_at_rfc3339"], expected.trim());
    let o = env.run(&["refresh", "--json"]);
    assert_exit(&o, 0, "");
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let at = json["expires_at"].as_u64().unwrap();
    let gnu = std::process::Command::new("date")
        .args(["-u", "-d", &format!("@{at}"), "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .unwrap();
    assert_eq!(
        json["expires_at_rfc3339"],
        String::from_utf8(gnu.stdout).unwrap().trim()
    );
}
