//! `lwa refresh`: refresh now (the stored refresh token, or one given) and save.

use lwa_std::driver::Restore;

use crate::context::{Ctx, Fresh, open, print_fresh};
use crate::fail::{Doing, Fail, failure};

/// One refresh, under the store's lock; the new tokens are saved.
pub(crate) fn refreshed(ctx: &Ctx, refresh_token: Option<&str>) -> Result<Fresh, Fail> {
    let client_id = ctx.client_id(ctx.store.load()?.as_ref())?;
    let mut driver = open(ctx, ctx.config(&client_id), Restore::RefreshToken, true)?;
    if let Some(token) = refresh_token.filter(|t| !t.is_empty()) {
        // A token given here that LWA refuses says nothing of the one stored.
        driver = driver.with_store(crate::context::Checked::keeping);
        driver
            .session_mut()
            .restore_refresh_token(token)
            .map_err(|e| Fail::Config(format!("--refresh-token: {e}")))?;
    }
    let access = driver
        .token_once(&mut |_| {})
        .map_err(|e| failure(ctx, e, Doing::Refresh))?;
    Ok(Fresh::of(&driver, access))
}

pub(crate) fn run(ctx: &Ctx, refresh_token: Option<&str>) -> Result<(), Fail> {
    let fresh = refreshed(ctx, refresh_token)?;
    print_fresh(ctx, &fresh, "refreshed")
}
