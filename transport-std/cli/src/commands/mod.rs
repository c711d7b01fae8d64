//! One module per subcommand. Each does its work in a function the demo can call too, and
//! prints its result in `run`.

use std::time::Duration;

use crate::args::{Cli, Command};
use crate::context::{Ctx, Sends};
use crate::fail::Fail;

pub(crate) mod demo;
pub(crate) mod device_login;
pub(crate) mod exchange;
pub(crate) mod exec;
pub(crate) mod logout;
pub(crate) mod manual;
pub(crate) mod mock_server;
pub(crate) mod pkce;
pub(crate) mod probe;
pub(crate) mod refresh;
pub(crate) mod status;
pub(crate) mod token;

/// Runs the subcommand of the command line.
pub(crate) fn run(cli: Cli) -> Result<(), Fail> {
    let g = &cli.global;
    match &cli.command {
        Command::Pkce => pkce::run(g),
        Command::Probe { anchors } => probe::run(g, anchors.as_deref()),
        // Without output of their own to put in JSON: --json is refused, not dropped.
        Command::MockServer(_) | Command::Demo if g.json => Err(Fail::Config(format!(
            "--json: `lwa {}` has no JSON output",
            if matches!(cli.command, Command::Demo) {
                "demo"
            } else {
                "mock-server"
            }
        ))),
        Command::MockServer(args) => mock_server::run(g, args),
        Command::Demo => demo::run(g),
        Command::Exchange {
            code,
            redirect_uri,
            code_verifier,
        } => exchange::run(
            &Ctx::new(g, None, Sends::NewSignIn)?,
            code,
            redirect_uri,
            code_verifier.as_deref(),
        ),
        Command::Refresh { refresh_token } => {
            let sends = if refresh_token.as_deref().is_some_and(|t| !t.is_empty()) {
                Sends::NewSignIn
            } else {
                Sends::StoredToken
            };
            refresh::run(&Ctx::new(g, None, sends)?, refresh_token.as_deref())
        }
        Command::Token { min_valid } => {
            token::run(&Ctx::new(g, None, Sends::StoredToken)?, *min_valid)
        }
        Command::Exec {
            min_valid,
            env_name,
            command,
        } => exec::run(
            &Ctx::new(g, None, Sends::StoredToken)?,
            *min_valid,
            env_name,
            command,
        ),
        Command::Status { all: false } => status::run(g),
        Command::Status { all: true } => status::run_all(g),
        Command::Completions { shell } => manual::completions(*shell),
        Command::Man { out_dir } => manual::man(out_dir.as_deref()),
        Command::Logout => logout::run(g),
        Command::DeviceLogin {
            product_id,
            serial,
            scope,
            retry_for,
            progress_every,
        } => {
            if scope != "alexa:all" {
                return Err(Fail::Config(format!(
                    "--scope {scope}: code-based linking for AVS takes alexa:all"
                )));
            }
            device_login::run(
                &Ctx::new(g, None, Sends::NewSignIn)?,
                product_id,
                serial,
                Duration::from_secs(*retry_for),
                Duration::from_secs(*progress_every),
            )
        }
    }
}
