//! The driver opened from a token store in one call, over real loopback sockets against
//! the look-alike: what it restores, what it saves, and one-shot runs.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests

use std::time::{SystemTime, UNIX_EPOCH};

use lwa_mock::{MockConfig, MockServer};
use lwa_std::client::Client;
use lwa_std::core::endpoint::Endpoint;
use lwa_std::core::session::Config;
use lwa_std::driver::{Driver, DriverError, Restore};
use lwa_std::store::{FileStore, StoreError, StoredTokens};

const CLIENT_ID: &str = "amzn1.application-oa2-client.mock";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn client(server: &MockServer) -> Client {
    Client::new(&Endpoint::parse_origin(server.origin()).unwrap()).unwrap()
}

fn stored(refresh: &str, access: &str, expires_at: u64) -> StoredTokens {
    StoredTokens {
        client_id: CLIENT_ID.into(),
        access_token: access.into(),
        refresh_token: refresh.into(),
        token_type: "bearer".into(),
        expires_at,
        origin: None,
        ca_file: None,
    }
}

/// Without kept access tokens, a refresh that keeps the refresh token stores nothing: the
/// session asks for no store, and the driver adds no rule of its own.
#[test]
fn without_kept_access_tokens_a_kept_refresh_token_writes_nothing() {
    let server = MockServer::start(MockConfig::default(), false, 0).unwrap();
    let refresh = server.issue_refresh_token();
    let dir = tempfile::tempdir().unwrap();
    let file = FileStore::new(dir.path().join("tokens.json"));
    file.save(&stored(&refresh, "", 0)).unwrap();
    let before = std::fs::read(file.path()).unwrap();
    let mut driver = Driver::open(
        client(&server),
        Config::new(CLIENT_ID),
        file.clone(),
        Restore::Tokens,
    )
    .unwrap();
    let token = driver.token(&mut |_| {}).unwrap();
    assert!(server.issued(&token));
    assert_eq!(std::fs::read(file.path()).unwrap(), before);
}

/// LWA usually keeps the refresh token; with access tokens kept, the session asks to store
/// each new one, and the driver saves it (with its expiry).
#[test]
fn a_refresh_that_keeps_the_refresh_token_saves_the_new_access_token() {
    let server = MockServer::start(MockConfig::default(), false, 0).unwrap();
    let refresh = server.issue_refresh_token();
    let dir = tempfile::tempdir().unwrap();
    let file = FileStore::new(dir.path().join("tokens.json"));
    file.save(&stored(&refresh, "", 0)).unwrap();
    let config = Config {
        keep_access_tokens: true,
        ..Config::new(CLIENT_ID)
    };
    let mut driver = Driver::open(client(&server), config, file.clone(), Restore::Tokens).unwrap();
    let before = now();
    let token = driver.token(&mut |_| {}).unwrap();
    let saved = file.load().unwrap().unwrap();
    assert_eq!(saved.access_token, *token);
    assert_eq!(saved.refresh_token, refresh);
    assert_eq!(saved.client_id, CLIENT_ID);
    assert!(
        (before + 3599..=now() + 3600).contains(&saved.expires_at),
        "{}",
        saved.expires_at
    );
    assert_eq!(server.requests(), 1);

    // The next run restores both and sends nothing.
    let mut again = Driver::open(client(&server), config, file.clone(), Restore::Tokens).unwrap();
    assert_eq!(*again.token(&mut |_| {}).unwrap(), *token);
    assert_eq!(server.requests(), 1);
    // Restoring the refresh token only refreshes at once.
    let mut forced = Driver::open(client(&server), config, file, Restore::RefreshToken).unwrap();
    assert_ne!(*forced.token_once(&mut |_| {}).unwrap(), *token);
    assert_eq!(server.requests(), 2);
}

/// Tokens of another client in the store are not used, and a one-shot refusal
/// leaves the store alone.
#[test]
fn another_clients_tokens_are_left_alone_and_a_dead_refresh_token_is_forgotten() {
    let server = MockServer::start(MockConfig::default(), false, 0).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = FileStore::new(dir.path().join("tokens.json"));
    file.save(&stored("Atzr|theirs", "Atza|theirs", now() + 3600))
        .unwrap();
    let other = Config::new("amzn1.application-oa2-client.other");
    let mut driver = Driver::open(client(&server), other, file.clone(), Restore::Tokens).unwrap();
    assert!(matches!(
        driver.token_once(&mut |_| {}),
        Err(DriverError::SignInRequired)
    ));

    // A refresh token the look-alike does not know: invalid_grant, reported, not retried;
    // the token is dead, and the session forgets it: so does the store.
    let before = std::fs::read(file.path()).unwrap();
    file.save(&stored("Atzr|unknown", "", 0)).unwrap();
    let before_refusal = std::fs::read(file.path()).unwrap();
    assert_ne!(before, before_refusal);
    let config = Config::new(CLIENT_ID);
    let mut driver =
        Driver::open_locked(client(&server), config, file.clone(), Restore::Tokens).unwrap();
    match driver.token_once(&mut |_| {}) {
        Err(DriverError::Refused(r)) => {
            assert_eq!(r.code, "invalid_grant");
            assert_eq!(r.status, 400);
        }
        other => panic!("{other:?}"),
    }
    drop(driver);
    assert_eq!(file.load().unwrap(), None);
    assert!(!file.path().exists());
    assert_eq!(server.requests(), 1);

    // Any other refusal stores and deletes nothing: a client secret the look-alike does
    // not accept.
    let strict = MockServer::start(
        MockConfig {
            client_secret: Some("s3cr3t".into()),
            ..MockConfig::default()
        },
        false,
        0,
    )
    .unwrap();
    file.save(&stored(&strict.issue_refresh_token(), "", 0))
        .unwrap();
    let before_refusal = std::fs::read(file.path()).unwrap();
    let config = Config {
        client_secret: Some(lwa_std::core::secret::Secret::new("wrong")),
        ..Config::new(CLIENT_ID)
    };
    let mut driver =
        Driver::open_locked(client(&strict), config, file.clone(), Restore::Tokens).unwrap();
    assert!(driver.token_once(&mut |_| {}).is_err());
    drop(driver);
    assert_eq!(std::fs::read(file.path()).unwrap(), before_refusal);
    assert_eq!(strict.requests(), 1);
}

/// The library's errors give no advice about the command.
#[test]
fn library_errors_do_not_name_the_command() {
    let e = DriverError::<StoreError>::SignInRequired.to_string();
    assert!(!e.contains("lwa "), "{e}");
    assert!(e.starts_with("not signed in"), "{e}");
}
