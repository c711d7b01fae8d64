//! Issue 11, end to end: `lwa` as a person expects it (help, status and logout, errors that
//! say what to do, JSON errors, empty environment variables, the look-alike's log and
//! options, progress without a terminal), over real processes and loopback sockets.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{SystemTime, UNIX_EPOCH};

use lwa_std::store::{FileStore, StoredTokens};

const CLIENT_ID: &str = "amzn1.application-oa2-client.mock";

/// Every variable lwa reads, removed, so that the caller's environment does not leak in.
const LWA_VARS: [&str; 6] = [
    "LWA_STORE",
    "LWA_CLIENT_ID",
    "LWA_CLIENT_SECRET",
    "LWA_REFRESH_TOKEN",
    "LWA_CODE",
    "LWA_CODE_VERIFIER",
];

struct Env {
    dir: tempfile::TempDir,
    origin: String,
}

impl Env {
    fn new(origin: &str) -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            origin: origin.to_owned(),
        }
    }

    fn store(&self) -> PathBuf {
        self.dir.path().join("tokens.json")
    }

    /// `lwa` with a clean environment, UTC, this store and endpoint.
    fn command(&self) -> Command {
        let mut c = bare();
        c.arg("--endpoint")
            .arg(&self.origin)
            .arg("--store")
            .arg(self.store());
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).output().unwrap()
    }

    fn save(&self, access: &str, refresh: &str, expires_at: u64) {
        FileStore::new(self.store())
            .save(&StoredTokens {
                client_id: CLIENT_ID.into(),
                access_token: access.into(),
                refresh_token: refresh.into(),
                token_type: "bearer".into(),
                expires_at,
            })
            .unwrap();
    }
}

/// `lwa` with none of its variables set and the time zone UTC.
fn bare() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_lwa"));
    for var in LWA_VARS {
        c.env_remove(var);
    }
    c.env("TZ", "UTC");
    c
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[track_caller]
fn assert_exit(o: &Output, code: i32) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        stdout(o),
        stderr(o)
    );
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

/// Issue 11.2: `lwa status` says whether the store is signed in, for which client, when the
/// access token expires (local date and "in 47 min") and where the store is; `--json` too.
#[test]
fn status_shows_the_sign_in_readably_and_as_json() {
    let env = Env::new("http://127.0.0.1:9");
    let path = env.store().display().to_string();

    let o = env.run(&["status"]);
    assert_exit(&o, 2);
    assert_eq!(
        stdout(&o),
        format!(
            "signed in: no (run `lwa device-login` or `lwa exchange`)\nstore: {path} (no tokens)\n"
        )
    );

    let expires_at = now() + 47 * 60 + 30;
    env.save("Atza|a", "Atzr|r", expires_at);
    let o = env.run(&["status"]);
    assert_exit(&o, 0);
    assert_eq!(
        stdout(&o),
        format!(
            "signed in: yes\nclient ID: {CLIENT_ID}\naccess token: expires {} +00:00 (in 47 min)\nstore: {path}\n",
            utc(expires_at)
        )
    );
    assert!(!stdout(&o).contains("Atz"), "{}", stdout(&o));

    // The local time zone, from TZ.
    let o = env
        .command()
        .env("TZ", "XST-05:30")
        .arg("status")
        .output()
        .unwrap();
    assert_exit(&o, 0);
    assert!(
        stdout(&o).contains(&format!(
            "access token: expires {} +05:30 (in 47 min)",
            utc(expires_at + 5 * 3600 + 30 * 60)
        )),
        "{}",
        stdout(&o)
    );

    let o = env.run(&["status", "--json"]);
    assert_exit(&o, 0);
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "signed_in": true,
            "client_id": CLIENT_ID,
            "access_token_expires_at": expires_at,
            "access_token_expires_in": json["access_token_expires_in"].as_u64().filter(|s| (47 * 60..=47 * 60 + 30).contains(s)).unwrap(),
            "store": path,
        })
    );

    // An expired access token is said to be expired.
    let expired = now() - 3 * 60 - 10;
    env.save("Atza|a", "Atzr|r", expired);
    let o = env.run(&["status"]);
    assert_exit(&o, 0);
    assert!(
        stdout(&o).contains(&format!(
            "access token: expired {} +00:00 (3 min ago)",
            utc(expired)
        )),
        "{}",
        stdout(&o)
    );
}

/// Issue 11.2: `lwa logout` forgets the stored tokens; a second one has nothing to do.
#[test]
fn logout_forgets_the_stored_tokens() {
    let env = Env::new("http://127.0.0.1:9");
    let path = env.store().display().to_string();
    env.save("Atza|a", "Atzr|r", now() + 3600);
    let o = env.run(&["logout"]);
    assert_exit(&o, 0);
    assert_eq!(stdout(&o), format!("signed out: deleted {path}\n"));
    assert!(!env.store().exists());
    let o = env.run(&["logout"]);
    assert_exit(&o, 0);
    assert_eq!(stdout(&o), format!("not signed in: no tokens at {path}\n"));
    env.save("Atza|a", "Atzr|r", now() + 3600);
    let o = env.run(&["logout", "--json"]);
    assert_exit(&o, 0);
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"signed_out": true, "deleted": true, "store": path})
    );
    assert_eq!(env.run(&["status"]).status.code(), Some(2));
}

/// Issue 11.2: the demo shows the access token's expiry as a date and a span, not raw Unix
/// seconds.
#[test]
fn the_demo_shows_times_readably() {
    let o = bare().arg("demo").output().unwrap();
    assert_exit(&o, 0);
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
