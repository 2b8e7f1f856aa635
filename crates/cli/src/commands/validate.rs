//! `rolecall validate`: offline checks of the config.

use std::io::Write as _;

use clap::Args;
use rolecall_core::diagnostic::{Diagnostic, SourceMap};
use rolecall_core::load::{self, LoadError};

use crate::{GlobalArgs, exit};

/// Rendering stops after this many diagnostics; the count of the rest is given.
const MAX_SHOWN: usize = 200;

#[derive(Debug, Args)]
#[command(
    after_help = "Checks everything that can be checked without the site: YAML syntax, \
unknown keys, types, emails, duplicates (also across files), action names, role references, \
renames, limits, globs. Role and dashboard names that only the site can resolve are checked by \
`rolecall plan`.\n\nExit codes: 0 valid (maybe with warnings), 1 invalid."
)]
pub struct ValidateArgs {}

pub fn run(_: &ValidateArgs, global: &GlobalArgs) -> anyhow::Result<u8> {
    match load::load_path(&global.config) {
        Ok(loaded) => {
            if global.verbose > 0 {
                let mut stderr = global.stderr();
                for i in 0..loaded.sources.len() {
                    let path = loaded.sources.path(rolecall_core::diagnostic::FileId(i));
                    writeln!(stderr, "read {}", path.display())?;
                }
            }
            if !global.quiet {
                print_diagnostics(global, &loaded.sources, &loaded.warnings)?;
            }
            let d = &loaded.desired;
            let files = loaded.sources.len();
            writeln!(
                global.stdout(),
                "ok: {} {}, {} {} ({} {})",
                d.roles.len(),
                plural(d.roles.len(), "role"),
                d.users.len(),
                plural(d.users.len(), "user"),
                files,
                plural(files, "file"),
            )?;
            Ok(exit::OK)
        }
        Err(err) => {
            report_invalid(global, &err)?;
            Ok(exit::ERROR)
        }
    }
}

/// Prints every diagnostic of an invalid config, then a summary line.
pub fn report_invalid(global: &GlobalArgs, err: &LoadError) -> anyhow::Result<()> {
    let shown: Vec<Diagnostic> = err
        .diagnostics
        .iter()
        .filter(|d| d.is_error() || !global.quiet)
        .cloned()
        .collect();
    print_diagnostics(global, &err.sources, &shown)?;
    let red = anstyle::AnsiColor::Red.on_default().bold();
    writeln!(
        global.stderr(),
        "{red}error{red:#}: `{}` is not a valid config: {}",
        global.config.display(),
        load::summary(&err.diagnostics)
    )?;
    Ok(())
}

fn print_diagnostics(
    global: &GlobalArgs,
    sources: &SourceMap,
    diagnostics: &[Diagnostic],
) -> anyhow::Result<()> {
    let mut stderr = global.stderr().lock();
    for d in diagnostics.iter().take(MAX_SHOWN) {
        writeln!(stderr, "{}", d.render(sources, true))?;
    }
    if diagnostics.len() > MAX_SHOWN {
        writeln!(
            stderr,
            "... and {} more not shown; fix the ones above and run again\n",
            diagnostics.len() - MAX_SHOWN
        )?;
    }
    Ok(())
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        word.to_string()
    } else {
        format!("{word}s")
    }
}
