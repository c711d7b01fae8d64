//! Everything `lwa` writes to the terminal goes through here: stdout lines (a closed or full
//! stdout is a failure, exit 3, reported after the store was saved), stderr notes (a closed
//! stderr is ignored), text a server sent escaped, failures and usage errors formatted (with
//! `--json`, one JSON object on stderr).

use std::io::Write as _;
use std::process::ExitCode;

use crate::fail::Fail;

/// Writes a line to stdout. A closed or full stdout is a failure (exit 3) reported through
/// the caller's `?`, never a panic; every caller saves the store before it prints.
macro_rules! outln {
    () => {
        $crate::output::emit(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::output::emit(format_args!($($arg)*))
    };
}

/// Writes a line to stderr, ignoring a closed stderr (there is nobody to tell).
macro_rules! errln {
    () => {
        $crate::output::note(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::output::note(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// Writes to stderr without a line end, ignoring a closed stderr.
macro_rules! errp {
    ($($arg:tt)*) => {
        $crate::output::note(format_args!($($arg)*))
    };
}

/// One line to stdout; see [`outln!`].
pub(crate) fn emit(line: std::fmt::Arguments<'_>) -> Result<(), Fail> {
    let mut out = std::io::stdout().lock();
    out.write_fmt(line)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush())
        .map_err(stdout_failure)
}

/// Bytes to stdout as they are (a script, a manual page), failing as [`emit`] does.
pub(crate) fn emit_bytes(bytes: &[u8]) -> Result<(), Fail> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(stdout_failure)
}

/// What a failed write to stdout means: a reader that went away, or a real failure.
fn stdout_failure(e: std::io::Error) -> Fail {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        Fail::ClosedStdout
    } else {
        Fail::Network(format!("cannot write to stdout: {e}"))
    }
}

/// Text to stderr; see [`errln!`].
pub(crate) fn note(text: std::fmt::Arguments<'_>) {
    let mut err = std::io::stderr().lock();
    // A closed or full stderr: the exit code still tells.
    let _ = err.write_fmt(text).and_then(|()| err.flush());
}

/// Text for the terminal: every control character (C0, DEL, C1) and every bidirectional
/// formatting character is written as a Rust escape (`\u{1b}`, `\r`), so that text a server
/// sent (an `error_description`, a user code, a verification URI) cannot move the cursor,
/// clear the screen, set the window title or start a forged line.
pub(crate) fn escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let bidi = matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        if c.is_control() || bidi {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// A token as it may be printed: tokens are visible ASCII (RFC 6750's b64token), so one
/// holding anything else is refused rather than written to a terminal or a script.
pub(crate) fn printable(token: &str) -> Result<&str, Fail> {
    if token.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(token)
    } else {
        Err(Fail::Network(
            "the access token holds characters no token has: refused".into(),
        ))
    }
}

/// `text` as one word for a POSIX shell: as it is when it holds nothing the shell would
/// read, else in single quotes.
pub(crate) fn shell_word(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+:,=@%".contains(&b));
    if plain {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// The command that approves `code` at the look-alike at `origin` (trusting `ca`, for
/// HTTPS), for a person at another terminal.
pub(crate) fn approve_command(origin: &str, ca: Option<&std::path::Path>, code: &str) -> String {
    let url = shell_word(&format!("{origin}/mock/approve?user_code={code}"));
    match ca {
        Some(ca) => format!(
            "curl --cacert {} {url}",
            shell_word(&ca.display().to_string())
        ),
        None => format!("curl {url}"),
    }
}

/// Whether `--json` is on the command line (for errors found before it is parsed).
pub(crate) fn json_requested() -> bool {
    std::env::args_os()
        .skip(1)
        .take_while(|a| a != "--")
        .any(|a| a == "--json")
}

/// Reports a failure on stderr (`lwa: message`, or with `--json` one JSON object
/// `{"error": message, "exit": code}`) and returns its exit code.
pub(crate) fn report(fail: &Fail, json: bool) -> ExitCode {
    let code = fail.code();
    match fail {
        Fail::Silent(_) => {}
        Fail::ClosedStdout => crate::signals::die_of_sigpipe(),
        _ if json => errln!(
            "{}",
            serde_json::json!({"error": escaped(fail.message()), "exit": code})
        ),
        _ => errln!("lwa: {}", escaped(fail.message())),
    }
    ExitCode::from(code)
}

/// Reports a command line clap refused, without echoing what was typed: a token pasted
/// where no argument belongs must not be printed back. Flag names, valid values and the
/// usage line are ours and are shown.
pub(crate) fn usage_error(e: &clap::Error, json: bool) -> ExitCode {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let ours = matches!(
        e.kind(),
        ErrorKind::MissingRequiredArgument
            | ErrorKind::MissingSubcommand
            | ErrorKind::ArgumentConflict
    );
    if json && ours {
        // clap's first line: our own flag and subcommand names only.
        let text = e.render().to_string();
        let first = text.lines().next().unwrap_or_default();
        let message = first.strip_prefix("error: ").unwrap_or(first);
        return report(&Fail::Config(message.to_owned()), true);
    }
    // These carry only our own flag and subcommand names: clap's text is shown as it is.
    if ours
        || matches!(
            e.kind(),
            ErrorKind::DisplayHelp
                | ErrorKind::DisplayVersion
                | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
        )
    {
        let _ = e.print();
        return if e.use_stderr() {
            ExitCode::from(2)
        } else {
            ExitCode::SUCCESS
        };
    }
    let mut message = format!("error: {}", e.kind());
    // The flag concerned, when it is one: cut at '=' so that a value glued to it stays out.
    let flag = |arg: &String| -> Option<String> {
        arg.split('=')
            .next()
            .filter(|a| {
                a.starts_with('-')
                    && a.len() <= 48
                    && a.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
            })
            .map(str::to_owned)
    };
    let flags: Vec<String> = match e.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(arg)) => flag(arg).into_iter().collect(),
        Some(ContextValue::Strings(args)) => args.iter().filter_map(flag).collect(),
        _ => Vec::new(),
    };
    if !flags.is_empty() {
        message.push_str(&format!(": {}", flags.join(", ")));
    }
    // Our own validators say why without repeating the value; clap's may repeat it.
    if let Some(why) =
        std::error::Error::source(e).and_then(|s| s.downcast_ref::<crate::text::Invalid>())
    {
        message.push_str(&format!(": {why}"));
    }
    if let Some(ContextValue::Strings(values)) = e.get(ContextKind::ValidValue)
        && !values.is_empty()
    {
        message.push_str(&format!(" (possible values: {})", values.join(", ")));
    }
    if let Some(ContextValue::String(suggested)) = e.get(ContextKind::SuggestedArg) {
        message.push_str(&format!(" (a similar argument exists: {suggested})"));
    }
    if let Some(ContextValue::Strings(suggested)) = e.get(ContextKind::SuggestedSubcommand) {
        message.push_str(&format!(" (did you mean {}?)", suggested.join(" or ")));
    }
    if json {
        let message = message.strip_prefix("error: ").unwrap_or(&message);
        return report(&Fail::Config(message.to_owned()), true);
    }
    errln!("{}", escaped(&message));
    if let Some(ContextValue::StyledStr(usage)) = e.get(ContextKind::Usage) {
        errln!("\n{usage}");
    }
    errln!("\nFor more information, try '--help'.");
    ExitCode::from(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_and_bidi_characters_are_escaped() {
        assert_eq!(escaped("plain text"), "plain text");
        assert_eq!(escaped("\u{1b}[2J\r\n"), "\\u{1b}[2J\\r\\n");
        assert_eq!(escaped("a\u{202e}b\u{7f}"), "a\\u{202e}b\\u{7f}");
        assert_eq!(escaped("\u{85}é"), "\\u{85}é");
    }

    #[test]
    fn only_visible_ascii_is_a_printable_token() {
        assert_eq!(printable("Atza|IwEB-._~+/").ok(), Some("Atza|IwEB-._~+/"));
        for bad in ["Atza| x", "Atza|\u{1b}", "Atza|é", ""] {
            assert_eq!(printable(bad).is_ok(), bad.is_empty(), "{bad:?}");
        }
    }

    #[test]
    fn shell_words_are_quoted_when_they_must_be() {
        assert_eq!(shell_word("/tmp/lwa-ca.pem"), "/tmp/lwa-ca.pem");
        assert_eq!(shell_word("/tmp/my ca.pem"), "'/tmp/my ca.pem'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(shell_word(""), "''");
        assert_eq!(shell_word("$HOME"), "'$HOME'");
    }
}
