//! `lwa status`: whether the store holds a sign-in, for which client, until when. Nothing is
//! sent. Exit 0 when signed in, 2 when not.

use crate::args::Global;
use crate::context::store_of;
use crate::fail::Fail;
use crate::output::escaped;
use crate::text::{expiry, unix_now};

pub(crate) fn run(g: &Global) -> Result<(), Fail> {
    let store = store_of(g)?;
    let path = store.location().to_string();
    let stored = store.load()?;
    let signed_in = stored.as_ref().filter(|s| !s.refresh_token.is_empty());
    let expires_at = signed_in
        .filter(|s| !s.access_token.is_empty())
        .map(|s| s.expires_at);
    if g.json {
        outln!(
            "{}",
            serde_json::json!({
                "signed_in": signed_in.is_some(),
                "client_id": signed_in.map(|s| s.client_id.as_str()),
                "access_token_expires_at": expires_at,
                "access_token_expires_in": expires_at.map(|at| at.saturating_sub(unix_now())),
                "store": path,
            })
        )?;
    } else if let Some(s) = signed_in {
        outln!("signed in: yes")?;
        outln!("client ID: {}", escaped(&s.client_id))?;
        match expires_at {
            Some(at) if at > unix_now() => outln!("access token: expires {}", expiry(at))?,
            Some(at) => outln!("access token: expired {}", expiry(at))?,
            None => outln!("access token: none stored (the next `lwa token` refreshes)")?,
        }
        outln!("store: {path}")?;
    } else {
        outln!("signed in: no (run `lwa device-login` or `lwa exchange`)")?;
        outln!("store: {path} (no tokens)")?;
    }
    if signed_in.is_some() {
        Ok(())
    } else {
        Err(Fail::Silent(2))
    }
}
