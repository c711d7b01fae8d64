//! End to end: the usual comforts. Profiles in the configuration file (`--profile`,
//! `LWA_PROFILE`, `status --all`), shell completions that a real bash completes with, zsh
//! and fish scripts their shells accept, and manual pages groff reads without a warning.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests

use std::path::Path;
use std::process::Command;

use lwa_mock::{MockConfig, MockServer};
use lwa_std::core::pkce::CodeVerifier;

mod common;

use common::{CLIENT_ID, assert_exit, bare, stderr, stdout};

/// `lwa` with its configuration directory in `home`.
fn lwa_in(home: &Path) -> Command {
    let mut c = bare();
    c.env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"));
    c
}

/// Whether a program is installed; when it is not, a test that needs it says so, and fails
/// where the services are required (CI).
fn have(program: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("LWA_REQUIRE_SERVICES").is_none(),
            "{program} is required here (LWA_REQUIRE_SERVICES is set) and not installed"
        );
        eprintln!("{program} is not installed: its part of this test is skipped");
    }
    found
}

#[test]
fn profiles_keep_several_sign_ins_apart() {
    let kitchen = MockServer::start(MockConfig::default(), true, 0).unwrap();
    let bench = MockServer::start(MockConfig::default(), false, 0).unwrap();
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("config/lwa");
    std::fs::create_dir_all(&config).unwrap();
    let ca = home.path().join("kitchen-ca.pem");
    std::fs::write(&ca, kitchen.ca_pem().unwrap()).unwrap();
    let bench_store = home.path().join("bench.json");
    std::fs::write(
        config.join("config.toml"),
        format!(
            "[profiles.kitchen]\nclient_id = \"{CLIENT_ID}\"\nendpoint = \"{}\"\nca_file = \"{}\"\n\n[profiles.bench]\nclient_id = \"{CLIENT_ID}\"\nendpoint = \"{}\"\nstore = \"{}\"\n",
            kitchen.origin(),
            ca.display(),
            bench.origin(),
            bench_store.display()
        ),
    )
    .unwrap();
    let verifier = CodeVerifier::from_random(&[3; 32]).unwrap();
    let code = kitchen.authorize(
        "https://example.com/cb",
        Some(verifier.challenge().as_str()),
    );
    let o = lwa_in(home.path())
        .args(["--profile", "kitchen", "exchange", "--code", &code])
        .args([
            "--redirect-uri",
            "https://example.com/cb",
            "--code-verifier",
        ])
        .arg(verifier.as_secret().expose())
        .output()
        .unwrap();
    assert_exit(&o, 0, "");
    let kitchen_store = config.join("profiles/kitchen.json");
    let stored = lwa_std::store::FileStore::new(&kitchen_store)
        .load()
        .unwrap()
        .unwrap();
    assert!(kitchen.issued(&stored.access_token));
    assert!(!config.join("tokens.json").exists() && !bench_store.exists());

    // LWA_PROFILE names it too; the token comes from the kitchen's store.
    let o = lwa_in(home.path())
        .env("LWA_PROFILE", "kitchen")
        .arg("token")
        .output()
        .unwrap();
    assert_exit(&o, 0, "");
    assert_eq!(stdout(&o).trim(), stored.access_token);

    // status --all: a line per profile, in name order; one is not signed in: exit 1.
    let o = lwa_in(home.path())
        .args(["status", "--all"])
        .output()
        .unwrap();
    assert_exit(&o, 1, "");
    let lines: Vec<String> = stdout(&o).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(
        lines[0],
        format!("bench: not signed in ({})", bench_store.display())
    );
    assert!(
        lines[1].starts_with(&format!(
            "kitchen: signed in as {CLIENT_ID}, access token expires "
        )),
        "{}",
        lines[1]
    );
    assert!(
        lines[1].ends_with(&format!(" ({})", kitchen_store.display())),
        "{}",
        lines[1]
    );
    let o = lwa_in(home.path())
        .args(["status", "--all", "--json"])
        .output()
        .unwrap();
    assert_exit(&o, 1, "");
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["profiles"][0]["profile"], "bench");
    assert_eq!(json["profiles"][0]["signed_in"], false);
    assert_eq!(json["profiles"][1]["profile"], "kitchen");
    assert_eq!(json["profiles"][1]["signed_in"], true);
    assert_eq!(
        json["profiles"][1]["access_token_expires_at"],
        stored.expires_at
    );

    // The command line wins over the profile.
    let o = lwa_in(home.path())
        .args(["--profile", "kitchen", "--store"])
        .arg(home.path().join("other.json"))
        .arg("status")
        .output()
        .unwrap();
    assert_exit(&o, 1, "");

    // An unknown profile: the ones there are.
    let o = lwa_in(home.path())
        .args(["--profile", "garage", "status"])
        .output()
        .unwrap();
    assert_exit(
        &o,
        2,
        &format!(
            "lwa: no profile garage in {}: it has bench, kitchen\n",
            config.join("config.toml").display()
        ),
    );
    // A broken file: named, with what is wrong.
    std::fs::write(config.join("config.toml"), "[profiles.a]\nclient = 1\n").unwrap();
    let o = lwa_in(home.path())
        .args(["--profile", "a", "token"])
        .output()
        .unwrap();
    assert_exit(&o, 2, "unknown field `client`");
    let o = lwa_in(home.path())
        .args(["status", "--all"])
        .output()
        .unwrap();
    assert_exit(&o, 2, "unknown field `client`");
    // $LWA_CONFIG names another file.
    let other = home.path().join("elsewhere.toml");
    std::fs::write(&other, "").unwrap();
    let o = lwa_in(home.path())
        .env("LWA_CONFIG", &other)
        .args(["status", "--all"])
        .output()
        .unwrap();
    assert_exit(
        &o,
        2,
        &format!("lwa: no profiles: {} defines none", other.display()),
    );
}

/// The bash script completes subcommands and options as a person at a prompt gets them.
#[test]
fn bash_completes_subcommands_and_options() {
    if !have("bash") {
        return;
    }
    let o = bare().args(["completions", "bash"]).output().unwrap();
    assert_exit(&o, 0, "");
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("lwa.bash");
    std::fs::write(&script, &o.stdout).unwrap();
    let complete = |words: &str| {
        let o = Command::new("bash")
            .args([
                "--norc",
                "-c",
                r#"source "$0"; read -r -a COMP_WORDS <<<"$1"; [[ "$1" == *" " ]] && COMP_WORDS+=(""); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); COMP_LINE="$1"; COMP_POINT=${#1}; _lwa lwa "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"; printf '%s\n' "${COMPREPLY[@]}""#,
            ])
            .arg(&script)
            .arg(words)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        stdout(&o).lines().map(str::to_owned).collect::<Vec<_>>()
    };
    assert_eq!(complete("lwa tok"), ["token"]);
    assert_eq!(complete("lwa ex"), ["exchange", "exec"]);
    assert_eq!(complete("lwa token --min"), ["--min-valid"]);
    assert!(complete("lwa status --").contains(&"--all".to_owned()));
    assert_eq!(complete("lwa completions f"), ["fish"]);
}

#[test]
fn zsh_and_fish_accept_their_scripts() {
    for (shell, check) in [("zsh", &["-n"][..]), ("fish", &["--no-execute"][..])] {
        let o = bare().args(["completions", shell]).output().unwrap();
        assert_exit(&o, 0, "");
        assert!(stdout(&o).contains("exec"), "{shell}");
        if !have(shell) {
            continue;
        }
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("lwa.script");
        std::fs::write(&script, &o.stdout).unwrap();
        let o = Command::new(shell)
            .args(check)
            .arg(&script)
            .output()
            .unwrap();
        assert!(o.status.success(), "{shell}: {}", stderr(&o));
        assert_eq!(stderr(&o), "", "{shell}");
    }
}

#[test]
fn manual_pages_are_made_from_the_commands_definition() {
    let o = bare().arg("man").output().unwrap();
    assert_exit(&o, 0, "");
    let page = stdout(&o);
    assert!(page.contains(".TH lwa 1"), "{page}");
    for part in [
        "exec",
        "completions",
        "\\-\\-min\\-valid",
        "LWA_PROFILE",
        "config.toml",
    ] {
        assert!(page.contains(part), "{part} missing");
    }
    let dir = tempfile::tempdir().unwrap();
    let o = bare()
        .args(["man", "--out-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_exit(&o, 0, "");
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    for expected in [
        "lwa.1",
        "lwa-token.1",
        "lwa-exec.1",
        "lwa-status.1",
        "lwa-device-login.1",
    ] {
        assert!(
            names.contains(&expected.to_owned()),
            "{expected} not in {names:?}"
        );
    }
    if !have("groff") {
        return;
    }
    for name in &names {
        let o = Command::new("groff")
            .args(["-man", "-Tutf8", "-ww", "-z"])
            .arg(dir.path().join(name))
            .output()
            .unwrap();
        assert!(o.status.success(), "{name}: {}", stderr(&o));
        assert_eq!(stderr(&o), "", "{name}");
    }
}
