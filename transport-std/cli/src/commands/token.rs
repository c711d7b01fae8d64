//! `lwa token`: a valid access token on stdout, refreshing first only when it expires
//! within the session's margin (or `--min-valid`).

use std::time::Duration;

use lwa_std::driver::Restore;

use crate::context::{Ctx, Fresh, not_signed_in, open};
use crate::fail::{Doing, Fail, failure};
use crate::output::printable;
use crate::text::{rfc3339, span};

/// How the token was had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum How {
    /// The stored one was good: no request.
    Stored,
    /// It was refreshed first.
    Refreshed,
    /// Another lwa refreshed it while this one waited for the store's lock: no request.
    RefreshedElsewhere,
}

/// The token, valid for at least `min_valid` (the session's margin when `None`), and how
/// it was had.
pub(crate) fn served(ctx: &Ctx, min_valid: Option<Duration>) -> Result<(Fresh, How), Fail> {
    let stored = ctx
        .store
        .load()?
        .ok_or_else(|| not_signed_in(ctx.store.location()))?;
    let client_id = ctx.client_id(Some(&stored))?;
    let config = || {
        let mut config = ctx.config(&client_id);
        if let Some(least) = min_valid {
            config.refresh_margin = least;
        }
        config
    };
    // A token the session hands out as it is is served without the lock: writers rename
    // whole files into place, so this never waits for another lwa in a slow refresh.
    let mut driver = open(ctx, config(), Restore::Tokens, false)?;
    if let Some(token) = driver.ready_token() {
        printable(&token)?;
        return Ok((Fresh::of(&driver, token), How::Stored));
    }
    drop(driver);
    // Under the lock: another lwa may have refreshed while this one waited for it.
    let mut driver = open(ctx, config(), Restore::Tokens, true)?;
    let token = driver
        .token_once(&mut |_| {})
        .map_err(|e| failure(ctx, e, Doing::Refresh))?;
    printable(&token)?;
    let fresh = Fresh::of(&driver, token);
    if let Some(least) = min_valid
        && fresh.expires_in < least.as_secs()
    {
        return Err(Fail::OAuth(format!(
            "LWA handed out a token valid for {}, less than --min-valid {}: ask for less",
            span(fresh.expires_in),
            span(least.as_secs())
        )));
    }
    let how = if driver.requests() > 0 {
        How::Refreshed
    } else {
        How::RefreshedElsewhere
    };
    Ok((fresh, how))
}

pub(crate) fn run(ctx: &Ctx, min_valid: Option<Duration>) -> Result<(), Fail> {
    let (fresh, _) = served(ctx, min_valid)?;
    if ctx.json {
        outln!(
            "{}",
            serde_json::json!({
                "access_token": fresh.access.as_str(),
                "token_type": "bearer",
                "expires_in": fresh.expires_in,
                "expires_at": fresh.expires_at,
                "expires_at_rfc3339": rfc3339(fresh.expires_at),
            })
        )
    } else {
        outln!("{}", fresh.access.as_str())
    }
}
