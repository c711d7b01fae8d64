//! End to end against a real Secret Service: `lwa` with `--store keyring:NAME` signs in
//! against the look-alike, serves and refreshes the token from the keyring entry, refreshes
//! once for several concurrent processes, survives a writer killed mid-run, and logs out.
//!
//! These need a session bus with a Secret Service (CI runs them under `dbus-run-session`
//! with gnome-keyring-daemon, see `.ci/run`) and `secret-tool`. Without them each test says
//! it is skipped, and fails instead when `LWA_REQUIRE_KEYRING=1`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::thread;
use std::time::Duration;

use lwa_mock::{MockConfig, MockServer};
use lwa_std::store::{FileStore, StoredTokens};

mod common;

use common::{CLIENT_ID, Env, assert_exit, now, stderr, stdout};

/// Whether a Secret Service and `secret-tool` can be used here; if not, says the test is
/// skipped, or fails it when `LWA_REQUIRE_KEYRING=1`.
fn keyring_ready(test: &str) -> bool {
    let why = if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
        Some("no session bus (DBUS_SESSION_BUS_ADDRESS is not set)".to_owned())
    } else if let Err(e) = FileStore::keyring("probe", std::env::temp_dir())
        .unwrap()
        .reachable()
    {
        Some(e.to_string())
    } else if Command::new("secret-tool")
        .arg("--version")
        .output()
        .is_err()
    {
        Some("secret-tool is not installed".to_owned())
    } else {
        None
    };
    match why {
        None => true,
        Some(why) if std::env::var("LWA_REQUIRE_KEYRING").as_deref() == Ok("1") => {
            panic!("{test} needs a Secret Service: {why}")
        }
        Some(why) => {
            eprintln!(
                "skipped {test}: no Secret Service ({why}); LWA_REQUIRE_KEYRING=1 fails instead"
            );
            false
        }
    }
}

/// A keyring entry of this test alone, deleted when dropped, and the directory that is the
/// config directory of every `lwa` the test runs.
struct Keyring {
    env: Env,
    name: String,
}

impl Keyring {
    fn new(env: Env, test: &str) -> Self {
        let name = format!("test-{}-{test}", std::process::id());
        let keyring = Self { env, name };
        keyring.library().remove().unwrap();
        keyring
    }

    /// `--store keyring:NAME`.
    fn store_arg(&self) -> String {
        format!("keyring:{}", self.name)
    }

    fn config_dir(&self) -> PathBuf {
        self.env.dir.path().join("config")
    }

    /// The same store through the library.
    fn library(&self) -> FileStore {
        FileStore::keyring(&self.name, self.config_dir().join("lwa")).unwrap()
    }

    /// `lwa` on the keyring store, for commands that send.
    fn command(&self) -> Command {
        let mut c = self.env.command_for(Path::new(&self.store_arg()));
        c.env("HOME", self.env.dir.path())
            .env("XDG_CONFIG_HOME", self.config_dir());
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).output().unwrap()
    }

    /// What `secret-tool` finds in the entry: the stored JSON document, or `None`.
    fn secret_tool_lookup(&self) -> Option<String> {
        let o = Command::new("secret-tool")
            .args(["lookup", "service", "lwa", "username", &self.name])
            .output()
            .unwrap();
        o.status.success().then(|| stdout(&o))
    }

    fn save(&self, access: &str, refresh: &str, expires_at: u64) {
        self.library()
            .save(&StoredTokens {
                client_id: CLIENT_ID.into(),
                access_token: access.into(),
                refresh_token: refresh.into(),
                token_type: "bearer".into(),
                expires_at,
                origin: None,
                ca_file: None,
            })
            .unwrap();
    }

    fn load(&self) -> Option<StoredTokens> {
        self.library().load().unwrap()
    }

    /// Every file under the test's directory, relative to it.
    fn files(&self) -> Vec<PathBuf> {
        let mut found = Vec::new();
        let mut todo = vec![self.env.dir.path().to_path_buf()];
        while let Some(d) = todo.pop() {
            for entry in std::fs::read_dir(&d).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    todo.push(path);
                } else {
                    found.push(
                        path.strip_prefix(self.env.dir.path())
                            .unwrap()
                            .to_path_buf(),
                    );
                }
            }
        }
        found.sort();
        found
    }
}

impl Drop for Keyring {
    fn drop(&mut self) {
        let _ = self.library().remove();
    }
}

#[test]
fn sign_in_status_token_and_logout_in_the_keyring() {
    if !keyring_ready("sign_in_status_token_and_logout_in_the_keyring") {
        return;
    }
    let server = MockServer::start(
        MockConfig {
            poll_interval: 1,
            auto_approve: true,
            ..MockConfig::default()
        },
        false,
        0,
    )
    .unwrap();
    let keyring = Keyring::new(Env::new(server.origin(), None), "signin");
    let entry = keyring.store_arg();
    let o = keyring.run(&[
        "device-login",
        "--product-id",
        "p",
        "--serial",
        "1",
        "--client-id",
        CLIENT_ID,
    ]);
    assert_exit(&o, 0, "");
    assert!(
        stdout(&o).ends_with(&format!("; tokens saved to {entry}\n")),
        "{}",
        stdout(&o)
    );
    // The entry holds the store's JSON document, and it is the only copy: no file on disk
    // but the lock file.
    let stored = keyring.load().unwrap();
    let looked_up = keyring.secret_tool_lookup().unwrap();
    let json: serde_json::Value = serde_json::from_str(&looked_up).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "client_id": CLIENT_ID,
            "access_token": stored.access_token,
            "refresh_token": stored.refresh_token,
            "token_type": "bearer",
            "expires_at": stored.expires_at,
            "origin": server.origin(),
        })
    );
    assert!(server.issued(&stored.access_token));
    assert_eq!(
        keyring.files(),
        [PathBuf::from(format!(
            "config/lwa/keyring-{}.lock",
            keyring.name
        ))]
    );

    let o = keyring.run(&["status"]);
    assert_exit(&o, 0, "");
    let out = stdout(&o);
    assert!(
        out.starts_with(&format!(
            "signed in: yes\nclient ID: {CLIENT_ID}\nissued by: {}\naccess token: expires ",
            server.origin()
        )),
        "{out}"
    );
    assert!(
        out.ends_with(&format!(
            "\nstore: {entry}\nkept in: the OS keyring (Secret Service, Keychain or Credential \
             Manager), which decides how it is protected at rest\n"
        )),
        "{out}"
    );

    let requests = server.requests();
    let o = keyring.run(&["token"]);
    assert_exit(&o, 0, "");
    assert_eq!(stdout(&o), format!("{}\n", stored.access_token));
    assert_eq!(
        server.requests(),
        requests,
        "a good stored token sends nothing"
    );

    // A refresh replaces the entry's document.
    let o = keyring.run(&["refresh", "--json"]);
    assert_exit(&o, 0, "");
    let refreshed = keyring.load().unwrap();
    let json: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(json["access_token"], refreshed.access_token.as_str());
    assert_ne!(refreshed.access_token, stored.access_token);
    assert!(server.issued(&refreshed.access_token));
    assert_eq!(refreshed.refresh_token, stored.refresh_token);
    assert_eq!(server.requests(), requests + 1);

    let o = keyring.run(&["logout"]);
    assert_exit(&o, 0, "");
    assert_eq!(stdout(&o), format!("signed out: deleted {entry}\n"));
    assert_eq!(keyring.secret_tool_lookup(), None);
    assert_eq!(
        keyring.files(),
        Vec::<PathBuf>::new(),
        "the lock file went too"
    );

    let o = keyring.run(&["status"]);
    assert_exit(&o, 1, "");
    assert_eq!(
        stdout(&o),
        format!(
            "signed in: no (run `lwa device-login` or `lwa exchange`)\nstore: {entry} (no tokens)\n"
        )
    );
    let o = keyring.run(&["token"]);
    assert_exit(&o, 2, "");
    assert_eq!(
        stderr(&o),
        format!(
            "lwa: not signed in: no tokens in {entry} (run `lwa device-login` or `lwa exchange`)\n"
        )
    );
}

#[test]
fn concurrent_token_commands_refresh_the_keyring_entry_once() {
    if !keyring_ready("concurrent_token_commands_refresh_the_keyring_entry_once") {
        return;
    }
    let server = MockServer::start(MockConfig::default(), false, 0).unwrap();
    let keyring = Keyring::new(Env::new(server.origin(), None), "concurrent");
    let refresh = server.issue_refresh_token();
    keyring.save("Atza|old", &refresh, now());
    let children: Vec<_> = (0..6)
        .map(|_| {
            keyring
                .command()
                .arg("token")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<Output> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    assert_eq!(
        server.requests(),
        1,
        "the lock lets one process refresh; the others reuse its token"
    );
    let stored = keyring.load().unwrap();
    assert_ne!(stored.access_token, "Atza|old");
    assert!(server.issued(&stored.access_token));
    assert_eq!(stored.refresh_token, refresh);
    for o in &outputs {
        assert_exit(o, 0, "");
        assert_eq!(stdout(o), format!("{}\n", stored.access_token));
    }
}

/// The writer half of the crash test: saves numbered token pairs to the keyring entry
/// `LWA_CRASH_KEYRING` as fast as it can until killed. Runs only when the parent starts it.
#[test]
fn keyring_writer_child() {
    let (Some(name), Some(dir), Some(refresh)) = (
        std::env::var_os("LWA_CRASH_KEYRING"),
        std::env::var_os("LWA_CRASH_LOCK_DIR"),
        std::env::var_os("LWA_CRASH_REFRESH"),
    ) else {
        return;
    };
    let store = FileStore::keyring(name.to_str().unwrap(), PathBuf::from(dir)).unwrap();
    let refresh = refresh.into_string().unwrap();
    for n in 1u64.. {
        store
            .save(&StoredTokens {
                client_id: CLIENT_ID.into(),
                access_token: format!("Atza|{n}|{}", "a".repeat(300)),
                refresh_token: refresh.clone(),
                token_type: "bearer".into(),
                expires_at: n,
                origin: None,
                ca_file: None,
            })
            .unwrap();
    }
}

#[test]
fn a_killed_writer_leaves_the_entry_old_or_new_and_the_next_token_works() {
    if !keyring_ready("a_killed_writer_leaves_the_entry_old_or_new_and_the_next_token_works") {
        return;
    }
    let server = MockServer::start(MockConfig::default(), false, 0).unwrap();
    let keyring = Keyring::new(Env::new(server.origin(), None), "killed");
    let refresh = server.issue_refresh_token();
    let runs: u64 = std::env::var("LWA_CRASH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut written = 0;
    let mut last = 0;
    for _ in 0..runs {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "keyring_writer_child",
                "--exact",
                "--test-threads=1",
                "--nocapture",
            ])
            .env("LWA_CRASH_KEYRING", &keyring.name)
            .env("LWA_CRASH_LOCK_DIR", keyring.config_dir().join("lwa"))
            .env("LWA_CRASH_REFRESH", &refresh)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        thread::sleep(Duration::from_millis(50 + seed % 150));
        child.kill().unwrap(); // SIGKILL: no destructor, mid-write
        child.wait().unwrap();
        // Whole, parseable, and one of the writer's: never a torn or mixed document.
        let Some(stored) = keyring.load() else {
            assert_eq!(written, 0, "an entry, once written, stays");
            continue;
        };
        written += 1;
        let n = stored.expires_at;
        assert_eq!(stored.access_token, format!("Atza|{n}|{}", "a".repeat(300)));
        assert_eq!(stored.refresh_token, refresh);
        assert_eq!(stored.client_id, CLIENT_ID);
        last = n;
    }
    assert!(
        written > runs / 2,
        "the writer wrote in most runs ({written}/{runs})"
    );
    assert!(last > 0);
    // The killed writers' lock is free, and the entry's expired token is refreshed.
    let o = keyring.run(&["token", "--lock-timeout", "5"]);
    assert_exit(&o, 0, "");
    assert_eq!(server.requests(), 1);
    let stored = keyring.load().unwrap();
    assert!(server.issued(&stored.access_token));
    assert_eq!(stdout(&o), format!("{}\n", stored.access_token));
}
