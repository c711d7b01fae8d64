//! A first program against lwa-std: sign in with a refresh token the look-alike issued (as a
//! device that signed in earlier would have stored), get an access token, and see that the
//! next call needs no request. Against the local look-alike over HTTPS, so it runs anywhere:
//!
//! ```sh
//! cargo run -p lwa-std --example first_refresh
//! ```

use std::error::Error;

use lwa_mock::{MockConfig, MockServer};
use lwa_std::client::Client;
use lwa_std::core::endpoint::Endpoint;
use lwa_std::core::session::Config;
use lwa_std::driver::{Driver, Restore};
use lwa_std::store::FileStore;

fn main() -> Result<(), Box<dyn Error>> {
    // The look-alike, over HTTPS with a CA made for this run: the client trusts that CA on
    // top of the public roots, and checks the certificate as it would Amazon's.
    let mock = MockConfig::default();
    let server = MockServer::start(mock.clone(), true, 0)?;
    let ca_pem = server
        .ca_pem()
        .ok_or("the look-alike serves HTTPS with a CA")?;
    let client = Client::builder(&Endpoint::parse_origin(server.origin())?)
        .add_ca_pem(ca_pem)?
        // The look-alike is on this host: no proxy of the environment's (HTTPS_PROXY) in
        // between. Against Amazon, leave this out to honour it.
        .proxy(None)
        .build()?;

    let dir = std::env::temp_dir().join(format!("lwa-first-refresh-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let store = FileStore::new(dir.join("tokens.json"));
    let config = Config::new(&mock.client_id);
    let mut driver = Driver::open(client, config, store, Restore::Tokens)?;
    driver
        .session_mut()
        .restore_refresh_token(&server.issue_refresh_token())?;

    let token = driver.token(&mut |_| {})?;
    println!(
        "access token: {} characters, {} request(s)",
        token.len(),
        server.requests()
    );
    let again = driver.token(&mut |_| {})?;
    println!(
        "again: the same token ({}), still {} request(s): it is good for an hour",
        *again == *token,
        server.requests()
    );
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
