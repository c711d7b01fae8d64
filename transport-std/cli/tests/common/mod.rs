//! What the command's end-to-end tests share: a store directory, the endpoint `lwa` talks
//! to, and `lwa` run with a clean environment.

// Each test file uses its part of this module.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{SystemTime, UNIX_EPOCH};

use lwa_std::store::{FileStore, StoredTokens};

/// The look-alike's client ID.
pub(crate) const CLIENT_ID: &str = "amzn1.application-oa2-client.mock";

/// Every variable lwa reads, removed, so that the caller's environment does not leak in: a
/// developer's proxy would otherwise carry the tests' HTTPS to the look-alike away.
pub(crate) const LWA_VARS: [&str; 16] = [
    "LWA_PROFILE",
    "LWA_CONFIG",
    "LWA_ENDPOINT",
    "LWA_CA_FILE",
    "LWA_STORE",
    "LWA_CLIENT_ID",
    "LWA_CLIENT_SECRET",
    "LWA_REFRESH_TOKEN",
    "LWA_CODE",
    "LWA_CODE_VERIFIER",
    "https_proxy",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
];

/// A store directory, the origin `lwa` talks to and the CA it trusts.
pub(crate) struct Env {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) ca: Option<PathBuf>,
    pub(crate) origin: String,
    /// Pass `--client-id` on every command that sends.
    client_id: bool,
    /// The `lwa` binary to run: cargo's, or a copy another user can reach.
    program: PathBuf,
}

impl Env {
    /// A fresh store directory for `origin`, trusting `ca_pem` if given.
    pub(crate) fn new(origin: &str, ca_pem: Option<&str>) -> Self {
        Self::new_in(tempfile::tempdir().unwrap(), origin, ca_pem)
    }

    /// [`new`](Self::new) with the store directory `dir`.
    pub(crate) fn new_in(dir: tempfile::TempDir, origin: &str, ca_pem: Option<&str>) -> Self {
        let ca = ca_pem.map(|pem| {
            let p = dir.path().join("ca.pem");
            std::fs::write(&p, pem).unwrap();
            p
        });
        Self {
            dir,
            ca,
            origin: origin.to_owned(),
            client_id: false,
            program: PathBuf::from(env!("CARGO_BIN_EXE_lwa")),
        }
    }

    /// Every command runs `program` instead of cargo's `lwa`.
    pub(crate) fn with_program(mut self, program: PathBuf) -> Self {
        self.program = program;
        self
    }

    /// Every command that sends names the client ID too.
    pub(crate) fn with_client_id(mut self) -> Self {
        self.client_id = true;
        self
    }

    pub(crate) fn store(&self) -> PathBuf {
        self.dir.path().join("tokens.json")
    }

    pub(crate) fn store_bytes(&self) -> Option<Vec<u8>> {
        std::fs::read(self.store()).ok()
    }

    /// `lwa` with a clean environment, UTC, this store, endpoint and CA.
    pub(crate) fn command(&self) -> Command {
        self.command_for(&self.store())
    }

    /// [`command`](Self::command) with the store at `store`.
    pub(crate) fn command_for(&self, store: &Path) -> Command {
        let mut c = bare_program(&self.program);
        c.arg("--store")
            .arg(store)
            .arg("--endpoint")
            .arg(&self.origin);
        if self.client_id {
            c.arg("--client-id").arg(CLIENT_ID);
        }
        if let Some(ca) = &self.ca {
            c.arg("--ca-file").arg(ca);
        }
        c
    }

    /// `lwa` with a clean environment, UTC and this store, for the commands that send
    /// nothing (status, logout).
    pub(crate) fn local(&self) -> Command {
        let mut c = bare_program(&self.program);
        c.arg("--store").arg(self.store());
        c
    }

    /// Runs `lwa` with `args` (locally for status and logout) and waits.
    pub(crate) fn run(&self, args: &[&str]) -> Output {
        let sends = !matches!(args.first(), Some(&"status" | &"logout"));
        let mut c = if sends { self.command() } else { self.local() };
        c.args(args).output().unwrap()
    }

    /// Stores a token pair of the look-alike's client.
    pub(crate) fn save(&self, access: &str, refresh: &str, expires_at: u64) {
        FileStore::new(self.store())
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

    pub(crate) fn load(&self) -> StoredTokens {
        FileStore::new(self.store()).load().unwrap().unwrap()
    }
}

/// `lwa` with none of its variables set and the time zone UTC.
pub(crate) fn bare() -> Command {
    bare_program(Path::new(env!("CARGO_BIN_EXE_lwa")))
}

/// [`bare`] running `program`.
pub(crate) fn bare_program(program: &Path) -> Command {
    let mut c = Command::new(program);
    for var in LWA_VARS {
        c.env_remove(var);
    }
    c.env("TZ", "UTC");
    c
}

/// Seconds since the Unix epoch.
pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

pub(crate) fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub(crate) fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `o` exited with `code` and its stderr holds `stderr_has`; both streams shown if not.
#[track_caller]
pub(crate) fn assert_exit(o: &Output, code: i32, stderr_has: &str) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        stdout(o),
        stderr(o)
    );
    assert!(stderr(o).contains(stderr_has), "stderr: {}", stderr(o));
}
