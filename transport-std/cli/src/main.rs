//! `lwa`: get and keep Login-with-Amazon tokens from the command line.
//!
//! Exit codes: 0 success; 1 LWA answered with an OAuth error; 2 usage or configuration
//! error (a refused store and not being signed in included; `lwa status` exits 1 when not
//! signed in); 3 network, TLS, timeout or protocol failure, a store lock held too long by
//! another lwa, or a full stdout (reported after the store was saved). A stdout closed by
//! its reader (`lwa status | head -1`) ends `lwa` by SIGPIPE, quietly, as `yes | head`. Every other failure leaves the token store as it
//! was. Errors say what to do; with `--json` they are one JSON object on stderr,
//! `{"error": ..., "exit": N}`. Without `--json`, tokens and secrets never appear in the
//! output; `lwa token` prints the access token alone, which is its job. Whatever a server
//! said is printed with its control characters escaped; usage errors do not repeat what
//! was typed.
//!
//! The modules: [`args`] (the command line), [`commands`] (one module per subcommand),
//! [`context`] (the client, store and session they share), [`output`] (everything written
//! to the terminal), [`fail`] (exit codes and what errors mean), [`text`] (times for
//! people), [`signals`].

#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

use std::process::ExitCode;

#[macro_use]
mod output;
mod args;
mod commands;
mod context;
mod fail;
mod profiles;
mod signals;
mod text;

fn main() -> ExitCode {
    let parsed = args::command()
        .try_get_matches()
        .and_then(|matches| <args::Cli as clap::FromArgMatches>::from_arg_matches(&matches));
    let mut cli = match parsed {
        Ok(cli) => cli,
        Err(e) => return output::usage_error(&e, output::json_requested()),
    };
    let json = cli.global.json;
    let mut result = context::secret_from_stdin(&mut cli);
    if result.is_ok() && !matches!(cli.command, args::Command::Status { all: true }) {
        result = profiles::apply(&mut cli.global);
    }
    let result = result.and_then(|()| commands::run(cli));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(fail) => output::report(&fail, json),
    }
}
