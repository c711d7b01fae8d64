//! `lwa exec`: run a command with a valid access token in its environment, never on its
//! command line, and become it, so that its exit status is the command's.

use std::ffi::OsString;
use std::process::Command;
use std::time::Duration;

use crate::context::Ctx;
use crate::fail::Fail;

use super::token;

/// lwa's own secrets, which the command does not get.
const WITHHELD: [&str; 4] = [
    "LWA_CLIENT_SECRET",
    "LWA_REFRESH_TOKEN",
    "LWA_CODE",
    "LWA_CODE_VERIFIER",
];

pub(crate) fn run(
    ctx: &Ctx,
    min_valid: Option<Duration>,
    env_name: &str,
    command: &[OsString],
) -> Result<(), Fail> {
    let Some((program, args)) = command.split_first() else {
        return Err(Fail::Config("lwa exec: no command given".into()));
    };
    let (fresh, _) = token::served(ctx, min_valid)?;
    let mut child = Command::new(program);
    child.args(args).env(env_name, fresh.access.as_str());
    for var in WITHHELD {
        child.env_remove(var);
    }
    let name = program.to_string_lossy();
    let failed = |e: std::io::Error| Fail::Exec {
        code: if e.kind() == std::io::ErrorKind::NotFound {
            127
        } else {
            126
        },
        message: format!("cannot run {}: {e}", crate::output::escaped(&name)),
    };
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt as _;
        // Returns only when the command could not be started.
        Err(failed(child.exec()))
    }
    #[cfg(not(unix))]
    {
        let status = child.status().map_err(failed)?;
        std::process::exit(status.code().unwrap_or(1))
    }
}
