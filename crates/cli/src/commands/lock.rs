//! `rolecall lock`: the dashboard pins of the config's lock, checked against
//! the config and the site (`--check`, for CI) or written (`--update`).

use std::io::Write as _;

use std::path::PathBuf;

use clap::Args;
use rolecall_core::Desired;
use rolecall_core::config::lock;
use rolecall_core::live::Live;
use rolecall_core::plan::pins::{self, Pins, RenamedPin, RepinError};
use rolecall_core::text::clean;

use crate::connect::SiteArgs;
use crate::error::{CliError, CliResult};
use crate::exit;
use crate::settings::Settings;

#[derive(Debug, Args)]
#[command(
    after_help = "The lock, committed with the config, pins each dashboard name the config uses \
to the id it meant when it was first resolved: a dashboard renamed or duplicated on the site keeps \
its grants (plan warns, drift reports it), and never moves a grant to another dashboard. A directory \
config has `DIR/rolecall.lock`; a file `NAME.yaml` has `NAME.lock` beside it. `export` writes it; \
`plan --out` (once the plan is saved) and `apply` (once confirmed) add the pins of names resolved \
for the first time. A lock records its site.

--update keeps every pin whose dashboard exists, pins new names to the only dashboard of that \
name, pins again a name whose pinned dashboard is gone, and drops names the config no longer uses. \
A pin whose dashboard the site renamed is a question for a person: write the new name in the \
config (then --update pins it), or keep the config's name for the dashboard that has it now with \
--update --repin NAME. Until then --check and --update both exit 1 and say so.
--check (the default) changes nothing and exits 1 when --update would change the lock.

Exit codes: 0 the lock is as it should be (or was written), 1 it is not, or an error.

Examples:
  rolecall lock --check                                # in CI
  rolecall lock --update                               # after adding a dashboard to the config
  rolecall lock --update --from-snapshot site.json     # no key: from a snapshot of the site
  rolecall lock --update --repin 'Revenue Overview'    # the name now means another dashboard"
)]
pub struct LockArgs {
    /// Exit 1 when the lock is not what --update would write (the default).
    #[arg(long, conflicts_with = "update")]
    pub check: bool,
    /// Write the lock.
    #[arg(long)]
    pub update: bool,
    /// With --update: pin NAME again to the only dashboard the site names so now (a pin
    /// whose dashboard was renamed on the site, when the config's name should follow the
    /// name rather than the dashboard); repeatable.
    #[arg(long, value_name = "NAME", requires = "update")]
    pub repin: Vec<String>,
    /// Read the dashboards from a snapshot of the site instead (`export --format snapshot`,
    /// `apply`/`drift --snapshot-out`): no key, no network.
    #[arg(long, value_name = "SNAPSHOT.json", conflicts_with = "sandbox")]
    pub from_snapshot: Option<PathBuf>,
    #[command(flatten)]
    pub site: SiteArgs,
}

/// What --update would change, one line each.
fn changes(pins: &Pins, old: &lock::Lock, repin: &[String]) -> Vec<String> {
    let mut lines: Vec<String> = pins
        .added
        .iter()
        .map(|(name, id)| match old.pin(name) {
            Some(was) if repin.contains(name) => {
                format!("~ `{}`: #{was} -> #{id} (--repin)", clean(name))
            }
            Some(was) => format!("~ `{}`: #{was} (gone) -> #{id}", clean(name)),
            None => format!("+ `{}` -> #{id}", clean(name)),
        })
        .collect();
    lines.extend(
        pins.removed
            .iter()
            .map(|n| format!("- `{}` (no longer in the config)", clean(n))),
    );
    if pins.lock.site != old.site && !old.is_empty() && lines.is_empty() {
        lines.push(format!(
            "~ the lock records the site `{}`",
            clean(&pins.lock.site)
        ));
    }
    lines
}

/// Pins whose dashboard the site names otherwise now: the config should
/// follow, or (when one other dashboard has the name now) the pin be made
/// again (`--repin`).
fn renamed(lock: &lock::Lock, live: &Live) -> Vec<String> {
    (pins::renamed_pins(lock, live).into_iter())
        .map(|RenamedPin { name, id, now, other }| {
            let repin = match other {
                // A name with characters a shell would not take as
                // shown (a newline, an invisible one): no command.
                Some(other) if clean(&name) != name.as_str() => format!(
                    ", or pin `{}` to #{other}, the dashboard of that name now, with `--update --repin` and the name as the config writes it",
                    clean(&name)
                ),
                Some(other) => format!(
                    ", or run `rolecall lock --update --repin {}` to pin `{}` to #{other}, the dashboard of that name now",
                    shell_quoted(&name),
                    clean(&name)
                ),
                None => String::new(),
            };
            format!(
                "! `{}` -> #{id}, which the site names `{}` now: write `{}` in the config{repin}",
                clean(&name),
                clean(&now),
                clean(&now),
            )
        })
        .collect()
}

/// `name` as one word for a POSIX shell.
fn shell_quoted(name: &str) -> String {
    format!("'{}'", clean(name).replace('\'', "'\\''"))
}

/// The config's lock with the names of `--repin` unpinned, so that they
/// resolve by name again; each must be pinned now.
fn unpinned(desired: &Desired, live: &Live, repin: &[String]) -> CliResult<Desired> {
    pins::unpin(desired, live, repin).map_err(|e| match e {
        RepinError::NotPinned(name) => CliError::msg(format!(
            "--repin `{}`: the lock has no pin of that name",
            clean(&name)
        ))
        .with_hint("--repin takes a name the lock pins, as the config writes it"),
        RepinError::NotUsed(name) => CliError::msg(format!(
            "--repin `{}`: the config no longer names it; nothing was written",
            clean(&name)
        ))
        .with_hint("`rolecall lock --update` without `--repin` drops its pin"),
        RepinError::NotOne(name) => CliError::msg(format!(
            "--repin `{}`: the site has no one dashboard of that name now; nothing was written",
            clean(&name)
        ))
        .with_hint("`rolecall plan` lists the dashboards of a name; write `\"#ID\"` in the config for one of them"),
    })
}

pub(crate) fn run(args: &LockArgs, settings: &Settings) -> CliResult {
    let loaded = crate::planning::load_config(settings)?;
    let live = match &args.from_snapshot {
        Some(path) => crate::snapshot::recorded(path, settings, &loaded.desired.site)?.live,
        None => {
            let conn = crate::connect::connect(settings, &args.site, &loaded.desired.site)?;
            crate::connect::fetch(settings, &conn)?
        }
    };
    let desired = unpinned(&loaded.desired, &live, &args.repin)?;
    let pins = pins::pins(&desired, &live);
    let path = lock::path_for(&settings.config);
    let lines = changes(&pins, &loaded.desired.lock, &args.repin);
    let renamed = renamed(&pins.lock, &live);
    let mut err = settings.stderr();
    for name in &pins.unresolved {
        writeln!(
            err,
            "warning: `{}` resolves to no one dashboard of the site: `rolecall plan` says why",
            clean(name)
        )?;
    }
    let shown = rolecall_core::text::path(&path);
    let mut out = settings.stdout();
    // Two names on one dashboard: never written, whatever else.
    let mut by_id: std::collections::BTreeMap<&str, &str> = std::collections::BTreeMap::new();
    for (name, id) in &pins.lock.dashboards {
        if let Some(other) = by_id.insert(id, name) {
            return Err(CliError::msg(format!(
                "`{}` and `{}` would both be pinned to the dashboard #{id}; nothing was written",
                clean(other),
                clean(name)
            ))
            .with_hint("the config names one dashboard twice now: keep one of the names (`rolecall plan` shows where)"));
        }
    }
    if args.update {
        if pins.lock.dashboards.is_empty() && !path.exists() {
            writeln!(err, "the config names no dashboard: nothing to pin")?;
            return Ok(exit::OK);
        }
        if !renamed.is_empty() {
            // A question for a person: nothing is written until it is
            // answered (the config edited, or `--repin`).
            for line in lines.iter().chain(&renamed) {
                writeln!(out, "{line}")?;
            }
            return Err(CliError::msg(format!(
                "`{shown}` was not written: {} renamed on the site",
                rolecall_core::plural(renamed.len(), "pinned dashboard")
            ))
            .with_hint("write the new name in the config (or, where said, `rolecall lock --update --repin NAME`), then run `rolecall lock --update` again"));
        }
        if lines.is_empty() && path.exists() {
            writeln!(err, "`{shown}` is up to date")?;
            return Ok(exit::OK);
        }
        crate::fsio::write_file(&path, &pins.lock.to_text(), "the lock")?;
        for line in &lines {
            writeln!(out, "{line}")?;
        }
        writeln!(
            err,
            "wrote `{shown}` ({})",
            rolecall_core::plural(pins.lock.dashboards.len(), "pin")
        )?;
        return Ok(exit::OK);
    }
    let lines: Vec<&String> = lines.iter().chain(&renamed).collect();
    if lines.is_empty() {
        return Ok(exit::OK);
    }
    for line in &lines {
        writeln!(out, "{line}")?;
    }
    let hint = if renamed.is_empty() {
        "run `rolecall lock --update` and commit the lock with the config"
    } else {
        "a dashboard renamed on the site: write its new name in the config (or, where said, `rolecall lock --update --repin NAME`); then commit the lock with the config"
    };
    Err(CliError::msg(format!(
        "`{shown}` is not up to date: {}",
        rolecall_core::plural(lines.len(), "pin")
    ))
    .with_hint(hint))
}

/// After a plan or an apply: the pins of names resolved for the first time
/// added to the lock (a pin the site moved is kept; the plan says so).
pub(crate) fn add_new_pins(
    settings: &Settings,
    desired: &Desired,
    live: &rolecall_core::live::Live,
) -> CliResult<()> {
    let Some(lock) = pins::with_new_pins(desired, live) else {
        return Ok(());
    };
    let path = lock::path_for(&settings.config);
    crate::fsio::write_file(&path, &lock.to_text(), "the lock")?;
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
