//! `lwa status`: whether the store holds a sign-in, for which client, until when. Nothing is
//! sent. Exit 0 when signed in, 1 when not (2 is a usage error, as everywhere).

use lwa_std::store::{Location, StoredTokens};

use crate::args::Global;
use crate::context::store_of;
use crate::fail::Fail;
use crate::output::escaped;
use crate::profiles;
use crate::text::{expiry, unix_now};

/// `lwa status --all`: one line per profile of the configuration file (with `--json`, one
/// object with a `profiles` array). Exit 0 when every profile is signed in, 1 when one is
/// not, 2 when there are none.
pub(crate) fn run_all(g: &Global) -> Result<(), Fail> {
    let (path, config) = profiles::load()?;
    if config.profiles.is_empty() {
        return Err(Fail::Config(format!(
            "no profiles: {} defines none (see `lwa --help`, FILES)",
            path.display()
        )));
    }
    let mut all_signed_in = true;
    let mut rows = Vec::new();
    for (name, profile) in &config.profiles {
        let mut pg = Global {
            store: None,
            client_id: None,
            endpoint: None,
            region: None,
            ca_file: None,
            ..g.clone()
        };
        profiles::fill(&mut pg, name, profile)?;
        let store = store_of(&pg)?;
        let stored = store.load();
        let shown = store.location().to_string();
        let signed_in = stored
            .as_ref()
            .ok()
            .and_then(Option::as_ref)
            .filter(|s| !s.refresh_token.is_empty());
        all_signed_in &= signed_in.is_some();
        if g.json {
            rows.push(serde_json::json!({
                "profile": name,
                "signed_in": signed_in.is_some(),
                "client_id": signed_in.map(|s| s.client_id.as_str()),
                "access_token_expires_at": signed_in.and_then(expires_at),
                "store": shown,
                "error": stored.as_ref().err().map(ToString::to_string),
            }));
            continue;
        }
        let state = match (&stored, signed_in) {
            (Err(e), _) => format!("cannot read the store: {e}"),
            (Ok(_), None) => "not signed in".to_owned(),
            (Ok(_), Some(s)) => match expires_at(s) {
                Some(at) if at > unix_now() => format!(
                    "signed in as {}, access token expires {}",
                    escaped(&s.client_id),
                    expiry(at)
                ),
                _ => format!(
                    "signed in as {}, access token expired (the next `lwa token` refreshes)",
                    escaped(&s.client_id)
                ),
            },
        };
        outln!("{name}: {state} ({shown})")?;
    }
    if g.json {
        outln!("{}", serde_json::json!({ "profiles": rows }))?;
    }
    if all_signed_in {
        Ok(())
    } else {
        Err(Fail::Silent(1))
    }
}

/// When the stored access token expires, if one is stored.
fn expires_at(s: &StoredTokens) -> Option<u64> {
    (!s.access_token.is_empty()).then_some(s.expires_at)
}

pub(crate) fn run(g: &Global) -> Result<(), Fail> {
    let store = store_of(g)?;
    let path = store.location().to_string();
    let (kept, how) = if matches!(store.location(), Location::Keyring(_)) {
        (
            "keyring",
            "the OS keyring (Secret Service, Keychain or Credential Manager), which decides \
             how it is protected at rest",
        )
    } else {
        (
            "file",
            "a file only its owner can read (mode 0600), not encrypted",
        )
    };
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
                "issued_by": signed_in.and_then(|s| s.origin.as_deref()),
                "access_token_expires_at": expires_at,
                "access_token_expires_in": expires_at.map(|at| at.saturating_sub(unix_now())),
                "store": path,
                "kept_in": kept,
            })
        )?;
    } else if let Some(s) = signed_in {
        outln!("signed in: yes")?;
        outln!("client ID: {}", escaped(&s.client_id))?;
        if let Some(origin) = &s.origin {
            outln!("issued by: {}", escaped(origin))?;
        }
        match expires_at {
            Some(at) if at > unix_now() => outln!("access token: expires {}", expiry(at))?,
            Some(at) => outln!("access token: expired {}", expiry(at))?,
            None => outln!("access token: none stored (the next `lwa token` refreshes)")?,
        }
        outln!("store: {path}")?;
        outln!("kept in: {how}")?;
    } else {
        outln!("signed in: no (run `lwa device-login` or `lwa exchange`)")?;
        outln!("store: {path} (no tokens)")?;
    }
    if signed_in.is_some() {
        Ok(())
    } else {
        Err(Fail::Silent(1))
    }
}
