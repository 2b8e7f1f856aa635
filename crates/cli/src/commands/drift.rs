//! `rolecall drift`: the plan as a report for cron; exit 2 on drift.

use std::io::Write as _;
use std::path::PathBuf;

use clap::Args;
use rolecall_core::plan::Selection;
use rolecall_engine::drift;

use super::plan::{Format, render};
use super::site::{self, SelectArgs, SiteArgs};
use crate::error::CliResult;
use crate::exit;
use crate::settings::Settings;

#[derive(Debug, Args)]
#[command(
    after_help = "Exit codes: 0 the site matches the config, 1 error, 2 drift.

With --baseline (the config as last applied, e.g. a checkout of main), each difference is \
labelled `changed on the site` (the site no longer matches what was applied: someone changed \
it by hand) or `pending in config` (the config changed since it was applied)."
)]
pub struct DriftArgs {
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// The config as last applied: tells changes made on the site apart from changes pending in the config.
    #[arg(long, value_name = "PATH")]
    pub baseline: Option<PathBuf>,
    /// List the users and roles the config does not manage, by name.
    #[arg(long)]
    pub show_unmanaged: bool,
    #[command(flatten)]
    pub select: SelectArgs,
    #[command(flatten)]
    pub site: SiteArgs,
}

pub fn run(args: &DriftArgs, settings: &Settings) -> CliResult {
    let selection = args.select.selection()?;
    let loaded = site::load_config(settings)?;
    let baseline = match &args.baseline {
        Some(path) => Some(site::load_config_at(settings, path)?),
        None => None,
    };
    let conn = site::connect(settings, &args.site, &loaded.desired.site)?;
    let live = site::fetch(settings, &conn)?;
    let mut plan = site::plan(settings, &loaded, &live, &selection)?;
    if let Some(baseline) = &baseline {
        let applied = site::plan(settings, baseline, &live, &Selection::default())?;
        drift::label(&mut plan, &applied, &loaded.desired, &baseline.desired);
    }
    settings
        .stdout()
        .write_all(render(&plan, args.format, args.show_unmanaged).as_bytes())?;
    // An Admin member the config does not list is always drift.
    Ok(
        if plan.is_empty() && plan.unmanaged.admins().next().is_none() {
            exit::OK
        } else {
            exit::CHANGES
        },
    )
}
