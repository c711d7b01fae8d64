//! `lwa logout`: forget the stored tokens (delete the store, or the keyring entry, and the
//! lock file). The device stays linked in the Amazon account until it is removed there.

use crate::args::Global;
use crate::context::store_of;
use crate::fail::Fail;

pub(crate) fn run(g: &Global) -> Result<(), Fail> {
    let store = store_of(g)?;
    let path = store.location().to_string();
    let lock = store.lock()?;
    let deleted = lock.load()?.is_some();
    lock.remove_and_unlock()?;
    if g.json {
        outln!(
            "{}",
            serde_json::json!({"signed_out": true, "deleted": deleted, "store": path})
        )?;
    } else if deleted {
        outln!("signed out: deleted {path}")?;
    } else {
        outln!("not signed in: no tokens at {path}")?;
    }
    Ok(())
}
