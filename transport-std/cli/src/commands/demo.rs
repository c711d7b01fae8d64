//! `lwa demo`: device-login, refresh and token against the built-in look-alike, over HTTPS
//! with a CA made for the run, saying what happens at each step. No Amazon account is used.

use std::time::Duration;

use crate::args::Global;
use crate::commands::{device_login, refresh, token};
use crate::context::{Ctx, Sends};
use crate::fail::Fail;
use crate::output::escaped;
use crate::text::expiry;

pub(crate) fn run(g: &Global) -> Result<(), Fail> {
    use lwa_mock::{MockConfig, MockServer};

    let config = MockConfig {
        auto_approve: true,
        poll_interval: 1,
        ..MockConfig::default()
    };
    let server = MockServer::start(config.clone(), true, 0)
        .map_err(|e| Fail::Config(format!("cannot start the look-alike: {e}")))?;
    let dir = std::env::temp_dir().join(format!("lwa-demo-{}", std::process::id()));
    let store_path = dir.join("tokens.json");
    let demo_global = Global {
        endpoint: Some(server.origin().to_owned()),
        store: Some(store_path.clone().into_os_string()),
        client_id: Some(config.client_id.clone()),
        client_secret: None,
        json: false,
        // The look-alike runs on this host: no proxy of the environment's in between.
        proxy: Some("none".to_owned()),
        ..g.clone()
    };
    let ctx = Ctx::new(&demo_global, server.ca_pem(), Sends::NewSignIn)?;
    outln!(
        "lwa demo: everything below talks to a local LWA look-alike; no Amazon account is used."
    )?;
    outln!()?;
    outln!("1. Started the look-alike at {}", server.origin())?;
    outln!(
        "   over HTTPS, with a certificate from a CA made for this run. The client trusts that CA"
    )?;
    outln!("   in addition to the public roots; certificate and host-name checks stay on.")?;
    outln!("   Tokens go to {}", store_path.display())?;
    outln!()?;
    outln!("2. device-login: the device asks for a code pair, shows the code, and polls until")?;
    outln!("   the user has entered it (the look-alike approves at once).")?;
    device_login::linked(
        &ctx,
        "demo_device",
        "DEMO0001",
        Duration::from_secs(60),
        Duration::from_secs(30),
    )?;
    let stored = ctx
        .store
        .load()?
        .ok_or_else(|| Fail::Config("the store is empty after sign-in".into()))?;
    outln!(
        "   signed in: a {}-character access token valid until {} and a refresh token, saved (mode 0600).",
        stored.access_token.len(),
        expiry(stored.expires_at)
    )?;
    outln!()?;
    outln!("3. refresh: trade the stored refresh token for a new access token.")?;
    let before = server.requests();
    refresh::refreshed(&ctx, None)?;
    let after = ctx
        .store
        .load()?
        .ok_or_else(|| Fail::Config("store vanished".into()))?;
    outln!(
        "   one request ({} -> {}); new access token {}, saved.",
        before,
        server.requests(),
        if after.access_token == stored.access_token {
            "NOT changed"
        } else {
            "received"
        }
    )?;
    outln!()?;
    outln!("4. token: print a valid access token (the demo keeps it off the screen).")?;
    let before = server.requests();
    let (_, how) = token::served(&ctx, None)?;
    outln!(
        "{}",
        match how {
            token::How::Stored =>
                "  the stored access token is valid for more than 10 minutes: no request sent",
            token::How::Refreshed =>
                "  the stored access token expired or expires within 10 minutes: refreshed first",
            token::How::RefreshedElsewhere =>
                "  another lwa refreshed the stored access token meanwhile: no request sent",
        }
    )?;
    outln!(
        "   requests before and after: {before} and {}: the stored token was good.",
        server.requests()
    )?;
    outln!()?;
    outln!("5. The user removes the device: the look-alike revokes the refresh token.")?;
    server.revoke_all();
    match refresh::refreshed(&ctx, None) {
        Err(Fail::OAuth(message)) => outln!("   refresh answered: {}", escaped(&message))?,
        Err(other) => outln!("   unexpected: {other:?}")?,
        Ok(_) => outln!("   unexpected: the revoked token refreshed")?,
    }
    // The dead refresh token is forgotten, the store's copy too: nothing is kept that
    // could be sent again, and `lwa status` says the device must sign in again.
    outln!(
        "   the dead refresh token is forgotten: {} (a device would now sign in again).",
        if store_path.exists() {
            "UNEXPECTEDLY, the store is still there"
        } else {
            "the store is deleted"
        }
    )?;
    outln!()?;
    let _ = std::fs::remove_dir_all(&dir);
    server.shutdown();
    outln!("Done. Against Amazon, drop --endpoint and pass your own --client-id.")?;
    Ok(())
}
