//! `rolecall drift`: the plan as a report for cron; exit 2 on drift.

use std::io::Write as _;
use std::path::PathBuf;

use clap::Args;
use rolecall_core::plan::{Kind, Policy};

use super::plan::{Format, render};
use super::site::{self, SiteArgs};
use crate::{GlobalArgs, exit};

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
    #[command(flatten)]
    pub site: SiteArgs,
}

pub fn run(args: &DriftArgs, global: &GlobalArgs) -> anyhow::Result<u8> {
    let loaded = site::load_config(global)?;
    let baseline = match &args.baseline {
        Some(path) => Some(site::load_config_at(global, path)?),
        None => None,
    };
    let conn = site::connect(global, &args.site, &loaded.desired.site)?;
    let live = site::fetch(global, &conn)?;
    let mut plan = site::plan(global, &loaded, &live, &Policy::default())?;
    if let Some(baseline) = &baseline {
        let applied = site::plan(global, baseline, &live, &Policy::default())?;
        let on_site: std::collections::BTreeSet<(Kind, String)> = applied
            .changes
            .iter()
            .map(|c| (c.kind, c.key.to_lowercase()))
            .collect();
        for change in &mut plan.changes {
            let key = change.key.to_lowercase();
            let entry = |d: &rolecall_core::Desired| match change.kind {
                Kind::User => d.users.get(&key).map(|u| serde_json::to_value(u).ok()),
                Kind::Role => d.roles.get(&key).map(|r| serde_json::to_value(r).ok()),
            };
            if on_site.contains(&(change.kind, key.clone())) {
                change
                    .labels
                    .push("changed on the site (it no longer matches the baseline)".into());
            }
            if entry(&loaded.desired) != entry(&baseline.desired) {
                change
                    .labels
                    .push("pending in config (the config changed since the baseline)".into());
            }
        }
    }
    global
        .stdout()
        .write_all(render(&plan, args.format).as_bytes())?;
    Ok(if plan.is_empty() {
        exit::OK
    } else {
        exit::CHANGES
    })
}
