//! End to end: what `--store` takes and what the store leaves behind, over real processes: an
//! empty `--store`, a directory given as the store, a keyring store with no keyring service
//! reachable (exit 2, nothing written anywhere), and the lock file a logout deletes without
//! two processes ever holding the lock at once.

// Linux: no keyring is made by a session bus address that leads nowhere (the Secret
// Service's bus; macOS and Windows have their keyrings without one), and a process waiting
// on the lock file is found through /proc.
#![cfg(target_os = "linux")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use lwa_mock::{MockConfig, MockServer};
use lwa_std::store::{FileStore, StoredTokens};

mod common;

use common::{CLIENT_ID, Env, assert_exit, bare, now, stderr, stdout};

/// Every file and directory under `dir`, relative to it, sorted.
fn tree(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path.clone());
            }
            found.push(path.strip_prefix(dir).unwrap().to_path_buf());
        }
    }
    found.sort();
    found
}

#[test]
fn an_empty_store_is_a_usage_error_that_says_what_it_takes() {
    for args in [&["status", "--store", ""][..], &["token", "--store="][..]] {
        let o = bare().args(args).output().unwrap();
        assert_exit(&o, 2, "");
        assert_eq!(stderr(&o), "lwa: --store needs a path or keyring[:NAME]\n");
        assert_eq!(stdout(&o), "");
    }
    let o = bare()
        .args(["status", "--store", "", "--json"])
        .output()
        .unwrap();
    assert_exit(&o, 2, "");
    assert_eq!(
        stderr(&o),
        "{\"error\":\"--store needs a path or keyring[:NAME]\",\"exit\":2}\n"
    );
    // A bad keyring name says what a name is, without repeating what was typed.
    let o = bare()
        .args(["status", "--store", "keyring:../x"])
        .output()
        .unwrap();
    assert_exit(&o, 2, "");
    assert_eq!(
        stderr(&o),
        "lwa: --store keyring:NAME: a keyring entry name is 1 to 64 characters of A-Z, a-z, \
         0-9, '.', '_' and '-'\n"
    );
}

#[test]
fn a_directory_as_the_store_is_called_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let shown = dir.path().display();
    let expected = format!(
        "lwa: token store: {shown} is a directory, not a token store file: refused; to keep \
         the tokens in it, pass --store {shown}/tokens.json\n"
    );
    for sub in ["status", "logout", "token"] {
        let o = bare()
            .arg(sub)
            .arg("--store")
            .arg(dir.path())
            .args(["--endpoint", "http://127.0.0.1:9", "--client-id", CLIENT_ID])
            .output()
            .unwrap();
        assert_exit(&o, 2, "");
        assert_eq!(stderr(&o), expected, "{sub}");
    }
    // Nothing was made in it (logout takes the lock beside the store, in the parent).
    assert_eq!(tree(dir.path()), Vec::<PathBuf>::new());
}

/// `lwa` with a config directory of its own and a session bus address that leads nowhere:
/// no keyring service can be reached.
fn without_keyring(home: &Path, args: &[&str]) -> Output {
    bare()
        .args(args)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn no_keyring_service_exits_2_and_writes_nothing() {
    let server = MockServer::start(MockConfig::default(), false, 0).unwrap();
    let home = tempfile::tempdir().unwrap();
    let sends = ["--endpoint", server.origin(), "--client-id", CLIENT_ID];
    let runs: Vec<Vec<&str>> = vec![
        vec!["status", "--store", "keyring:x"],
        vec!["logout", "--store", "keyring:x"],
        [&["token", "--store", "keyring:x"][..], &sends].concat(),
        [
            &[
                "refresh",
                "--store",
                "keyring:x",
                "--refresh-token",
                "Atzr|r",
            ][..],
            &sends,
        ]
        .concat(),
        [
            &[
                "device-login",
                "--store",
                "keyring:x",
                "--product-id",
                "p",
                "--serial",
                "1",
            ][..],
            &sends,
        ]
        .concat(),
    ];
    for args in &runs {
        let o = without_keyring(home.path(), args);
        assert_exit(&o, 2, "");
        let err = stderr(&o);
        assert!(
            err.starts_with(
                "lwa: token store: no OS keyring can be reached for keyring:x (zbus error: \
                 Failed to connect to address `unix:path=/nonexistent`"
            ),
            "{args:?}: {err}"
        );
        assert!(
            err.ends_with("); nothing was written, in the keyring or elsewhere\n"),
            "{args:?}: {err}"
        );
        assert_eq!(stdout(&o), "", "{args:?}");
    }
    // LWA_STORE names it as well as --store, and `keyring` alone is the entry `default`.
    let o = bare()
        .arg("status")
        .env("LWA_STORE", "keyring")
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent")
        .output()
        .unwrap();
    assert_exit(&o, 2, "");
    assert!(
        stderr(&o)
            .starts_with("lwa: token store: no OS keyring can be reached for keyring:default ("),
        "{}",
        stderr(&o)
    );
    // No fallback: not a file, not a lock file, not a directory; nothing was sent.
    assert_eq!(tree(home.path()), Vec::<PathBuf>::new());
    assert_eq!(server.requests(), 0);
}

#[test]
fn logout_leaves_no_lock_file_behind() {
    let env = Env::new("http://127.0.0.1:9", None);
    env.save("Atza|a", "Atzr|r", now() + 3000);
    let o = env.run(&["logout"]);
    assert_exit(&o, 0, "");
    assert_eq!(
        stdout(&o),
        format!("signed out: deleted {}\n", env.store().display())
    );
    assert_eq!(tree(env.dir.path()), Vec::<PathBuf>::new());
    // And when nothing was stored, still nothing left.
    let o = env.run(&["logout"]);
    assert_exit(&o, 0, "");
    assert_eq!(tree(env.dir.path()), Vec::<PathBuf>::new());
}

/// An `lwa token` waiting for the lock when a logout deletes the lock file must wait for
/// whoever locks the new lock file next, not take the deleted file's lock and run beside
/// it. Here this process plays both: the logout, then a writer on the new lock file that
/// stores a fresh token; `lwa token` must still be waiting while that writer holds the
/// lock, and then serve its token.
#[test]
fn a_token_waiting_through_a_logout_waits_for_the_next_lock_holder() {
    let server = MockServer::start(MockConfig::default(), false, 0).unwrap();
    let env = Env::new(server.origin(), None).with_client_id();
    env.save("Atza|old", &server.issue_refresh_token(), now());
    let store = FileStore::new(env.store());
    let logout = store.lock().unwrap();
    let mut waiting = env
        .command()
        .args(["token", "--lock-timeout", "30"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Long enough for it to read the expired token and wait on the lock file.
    wait_for_lock_waiter(&env, Duration::from_secs(10));
    logout.remove_and_unlock().unwrap();
    let next = store.lock().unwrap();
    next.save(&StoredTokens {
        client_id: CLIENT_ID.into(),
        access_token: "Atza|from-the-next-holder".into(),
        refresh_token: server.issue_refresh_token(),
        token_type: "bearer".into(),
        expires_at: now() + 3000,
        origin: None,
        ca_file: None,
    })
    .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        waiting.try_wait().unwrap().is_none(),
        "lwa token ran while another process held the lock"
    );
    drop(next);
    let o = waiting.wait_with_output().unwrap();
    assert_exit(&o, 0, "");
    assert_eq!(stdout(&o), "Atza|from-the-next-holder\n");
    assert_eq!(server.requests(), 0);
}

/// Waits until some process other than this one has the store's lock file open (Linux:
/// through /proc), so that the test knows `lwa` waits on that very file.
fn wait_for_lock_waiter(env: &Env, limit: Duration) {
    let lock = std::fs::canonicalize(env.dir.path().join("tokens.json.lock")).unwrap();
    let started = Instant::now();
    let me = std::process::id().to_string();
    while started.elapsed() < limit {
        let holders = std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter(|p| {
                let name = p.file_name();
                let name = name.to_string_lossy();
                name != me.as_str() && name.bytes().all(|b| b.is_ascii_digit())
            })
            .any(|p| {
                std::fs::read_dir(p.path().join("fd")).is_ok_and(|fds| {
                    fds.flatten()
                        .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|t| t == lock))
                })
            });
        if holders {
            // It opened the file; give it a poll to be waiting on it.
            std::thread::sleep(Duration::from_millis(100));
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("no lwa opened {} in {limit:?}", lock.display());
}
