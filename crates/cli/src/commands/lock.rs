//! `rolecall lock`: the dashboard pins of `rolecall.lock`, checked against
//! the config and the site (`--check`, for CI) or written (`--update`).

use std::io::Write as _;

use clap::Args;
use rolecall_core::config::lock;
use rolecall_core::plan::pins::{self, Pins, Resolution};
use rolecall_core::text::clean;

use super::site::{self, SiteArgs};
use crate::error::{CliError, CliResult};
use crate::exit;
use crate::settings::Settings;

#[derive(Debug, Args)]
#[command(
    after_help = "`rolecall.lock`, beside the config's root file and committed with it, pins each \
dashboard name the config uses to the id it meant when it was first resolved: a dashboard renamed \
or duplicated on the site keeps its grants (plan warns, drift reports it), and never moves a grant \
to another dashboard. `export` writes it; `plan --out` and `apply` add the pins of names resolved \
for the first time.

--update keeps every pin whose dashboard exists, pins new names to the only dashboard of that \
name, pins again a name whose pinned dashboard is gone, and drops names the config no longer uses. \
--check (the default) changes nothing and exits 1 when --update would change the lock.

Exit codes: 0 the lock is as it should be (or was written), 1 it is not, or an error.

Examples:
  rolecall lock --check        # in CI
  rolecall lock --update       # after adding a dashboard to the config"
)]
pub struct LockArgs {
    /// Exit 1 when the lock is not what --update would write (the default).
    #[arg(long, conflicts_with = "update")]
    pub check: bool,
    /// Write the lock.
    #[arg(long)]
    pub update: bool,
    #[command(flatten)]
    pub site: SiteArgs,
}

/// What --update would change, one line each.
fn changes(pins: &Pins, old: &lock::Lock) -> Vec<String> {
    let mut lines: Vec<String> = pins
        .added
        .iter()
        .map(|(name, id)| match old.pin(name) {
            Some(gone) => format!("~ `{}`: #{gone} (gone) -> #{id}", clean(name)),
            None => format!("+ `{}` -> #{id}", clean(name)),
        })
        .collect();
    lines.extend(
        pins.removed
            .iter()
            .map(|n| format!("- `{}` (no longer in the config)", clean(n))),
    );
    lines
}

pub fn run(args: &LockArgs, settings: &Settings) -> CliResult {
    let loaded = site::load_config(settings)?;
    let conn = site::connect(settings, &args.site, &loaded.desired.site)?;
    let live = site::fetch(settings, &conn)?;
    let pins = pins::pins(&loaded.desired, &live);
    let path = lock::path_for(&settings.config);
    let lines = changes(&pins, &loaded.desired.lock);
    let mut err = settings.stderr();
    for name in &pins.unresolved {
        writeln!(
            err,
            "warning: `{}` resolves to no one dashboard of the site: `rolecall plan` says why",
            clean(name)
        )?;
    }
    if args.update {
        if pins.lock.dashboards.is_empty() && !path.exists() {
            writeln!(err, "the config names no dashboard: nothing to pin")?;
            return Ok(exit::OK);
        }
        if lines.is_empty() && path.exists() {
            writeln!(err, "`{}` is up to date", rolecall_core::text::path(&path))?;
            return Ok(exit::OK);
        }
        site::write_file(&path, &pins.lock.to_text(), "the lock")?;
        let mut out = settings.stdout();
        for line in &lines {
            writeln!(out, "{line}")?;
        }
        writeln!(
            err,
            "wrote `{}` ({})",
            rolecall_core::text::path(&path),
            rolecall_core::plural(pins.lock.dashboards.len(), "pin")
        )?;
        return Ok(exit::OK);
    }
    // A pin whose dashboard is named otherwise now: the config should
    // follow (a rename on the site, or a lock edited to point elsewhere).
    let dashboards = pins::Dashboards::new(&live);
    let mut lines = lines;
    for name in loaded.desired.lock.dashboards.keys() {
        if let Resolution::Pinned { id, now, .. } = dashboards.resolve(name, &loaded.desired.lock)
            && now != *name
        {
            lines.push(format!(
                "! `{}` -> #{id}, which the site names `{}`: update the config (or the lock)",
                clean(name),
                clean(&now)
            ));
        }
    }
    if lines.is_empty() {
        return Ok(exit::OK);
    }
    let mut out = settings.stdout();
    for line in &lines {
        writeln!(out, "{line}")?;
    }
    Err(CliError::msg(format!(
        "`{}` is not up to date: {}",
        rolecall_core::text::path(&path),
        rolecall_core::plural(lines.len(), "pin")
    ))
    .with_hint("run `rolecall lock --update` and commit the lock with the config"))
}

/// After a plan or an apply: the pins of names resolved for the first time
/// added to the lock (a pin the site moved is kept; the plan says so).
pub fn add_new_pins(
    settings: &Settings,
    desired: &rolecall_core::Desired,
    live: &rolecall_core::live::Live,
) -> CliResult<()> {
    let pins = pins::pins(desired, live);
    if pins.added.is_empty() {
        return Ok(());
    }
    let mut lock = desired.lock.clone();
    for (name, id) in &pins.added {
        // Only names never pinned: a gone pin is for `lock --update`.
        if lock.pin(name).is_none() {
            lock.dashboards.insert(name.clone(), id.clone());
        }
    }
    if lock == desired.lock {
        return Ok(());
    }
    let path = lock::path_for(&settings.config);
    site::write_file(&path, &lock.to_text(), "the lock")?;
    if !settings.quiet {
        writeln!(
            settings.stderr(),
            "pinned {} in `{}` (commit it with the config)",
            rolecall_core::plural(
                lock.dashboards.len() - desired.lock.dashboards.len(),
                "dashboard name"
            ),
            rolecall_core::text::path(&path)
        )?;
    }
    Ok(())
}
