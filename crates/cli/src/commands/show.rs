//! `rolecall show PLANFILE`: a saved plan rendered again, as text, JSON or
//! markdown. Reads only the file: no config, no key, no network.

use std::io::Write as _;
use std::path::PathBuf;

use clap::Args;

use super::apply::saved;
use super::plan::{Format, render};
use crate::error::CliResult;
use crate::exit;
use crate::settings::Settings;

#[derive(Debug, Args)]
#[command(
    after_help = "The file is read as strictly as `apply` reads it (an operation whose fields \
do not fit, or a summary that does not count the changes, is refused), within \
`--max-snapshot-size`. Showing a plan checks nothing against the site: `rolecall apply PLANFILE` \
does.

Exit codes: 0 shown, 1 the file cannot be read or is not a plan, 3 some change is blocked.

Examples:
  rolecall show plan.json
  rolecall show plan.json --format markdown > comment.md"
)]
pub struct ShowArgs {
    /// A plan saved by `rolecall plan --out`, or a drift report saved by `drift --out`.
    #[arg(value_name = "PLANFILE")]
    pub planfile: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// List the users and roles the config does not manage, by name.
    #[arg(long)]
    pub show_unmanaged: bool,
    /// Render it as a drift report (what happened, most severe first): for a file saved
    /// by `drift --out`.
    #[arg(long)]
    pub drift: bool,
}

pub(crate) fn run(args: &ShowArgs, settings: &Settings) -> CliResult {
    let (plan, review) = saved::read(&args.planfile, settings.max_snapshot_size)?;
    let shown = match args.drift {
        true => super::drift::render_drift(&plan, &review, args.format, args.show_unmanaged),
        false => render(&plan, &review, args.format, args.show_unmanaged),
    };
    settings
        .stdout()
        .write_all(settings.redact(&shown).as_bytes())?;
    Ok(if plan.is_blocked() {
        exit::BLOCKED
    } else {
        exit::OK
    })
}
