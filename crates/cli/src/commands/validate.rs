//! `rolecall validate`: offline checks of the config.

use std::io::Write as _;

use clap::Args;
use rolecall_core::config::load;
use rolecall_core::plural;

use crate::error::CliResult;
use crate::exit;
use crate::output::{print_diagnostics, report_invalid};
use crate::settings::Settings;

#[derive(Debug, Args)]
#[command(
    after_help = "Checks everything that can be checked without the site: YAML syntax, \
unknown keys, types, emails, duplicates (also across files), action names, role references, \
renames, limits, globs. Role and dashboard names that only the site can resolve are checked by \
`rolecall plan`.\n\nExit codes: 0 valid (maybe with warnings), 1 invalid."
)]
pub struct ValidateArgs {}

pub(crate) fn run(_: &ValidateArgs, settings: &Settings) -> CliResult {
    match load::load_path_with(&settings.config, &settings.load_options()) {
        Ok(loaded) => {
            if settings.verbose > 0 {
                let mut stderr = settings.stderr();
                for i in 0..loaded.sources.len() {
                    let path = loaded.sources.path(rolecall_core::diagnostic::FileId(i));
                    writeln!(stderr, "read {}", rolecall_core::text::path(path))?;
                }
                let lock = rolecall_core::config::lock::path_for(&settings.config);
                for path in &loaded.skipped {
                    if *path == lock {
                        writeln!(
                            stderr,
                            "read {} (the dashboard pins)",
                            rolecall_core::text::path(path)
                        )?;
                        continue;
                    }
                    writeln!(
                        stderr,
                        "skipped {} (not *.yaml or *.yml)",
                        rolecall_core::text::path(path)
                    )?;
                }
            }
            let today = settings.today()?;
            let mut warnings = loaded.warnings.clone();
            warnings.extend(loaded.desired.endings(today, 14, &loaded.sources));
            if let Some(text) = crate::commands::review::due(settings, &loaded.desired)
                .and_then(|due| due.say(today, 14))
            {
                warnings.push(rolecall_core::diagnostic::Diagnostic::warning(text).hint(
                    "write the next pack with `rolecall review pack -o DIR` (DIR under `review.packs`)",
                ));
            }
            print_diagnostics(settings, &loaded.sources, &warnings);
            let d = &loaded.desired;
            let files = loaded.sources.len();
            writeln!(
                settings.stdout(),
                "ok: {}, {} ({})",
                plural(d.roles.len(), "role"),
                plural(d.users.len(), "user"),
                plural(files, "file"),
            )?;
            Ok(exit::OK)
        }
        Err(err) => {
            report_invalid(settings, &settings.config, &err, "");
            crate::planning::note_default_directory(settings, &settings.config);
            Ok(exit::ERROR)
        }
    }
}
