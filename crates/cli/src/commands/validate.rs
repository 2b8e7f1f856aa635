//! `rolecall validate`: offline checks of the config.

use std::io::Write as _;

use clap::Args;
use rolecall_core::load;

use crate::output::{print_diagnostics, report_invalid};
use crate::{GlobalArgs, exit};

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
            print_diagnostics(global, &loaded.sources, &loaded.warnings);
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
            report_invalid(global, &global.config, &err, "");
            Ok(exit::ERROR)
        }
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        word.to_string()
    } else {
        format!("{word}s")
    }
}
