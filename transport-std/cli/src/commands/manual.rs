//! `lwa completions` and `lwa man`: completion scripts and manual pages made from the
//! command's own definition, so they never drift from it.

use std::path::Path;

use crate::args;
use crate::fail::Fail;
use crate::output::emit_bytes;

/// The completion script for `shell` on stdout.
pub(crate) fn completions(shell: clap_complete::Shell) -> Result<(), Fail> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut args::command(), "lwa", &mut script);
    emit_bytes(&script)
}

/// lwa.1 on stdout, or every page (lwa.1, lwa-SUBCOMMAND.1) in `out_dir`.
pub(crate) fn man(out_dir: Option<&Path>) -> Result<(), Fail> {
    let cmd = args::command();
    let Some(dir) = out_dir else {
        let mut page = Vec::new();
        clap_mangen::Man::new(cmd)
            .render(&mut page)
            .map_err(|e| Fail::Config(format!("cannot make the manual page: {e}")))?;
        return emit_bytes(&page);
    };
    std::fs::create_dir_all(dir)
        .and_then(|()| clap_mangen::generate_to(cmd, dir))
        .map_err(|e| {
            Fail::Config(format!(
                "cannot write the manual pages to {}: {e}",
                dir.display()
            ))
        })?;
    outln!("manual pages written to {}", dir.display())
}
