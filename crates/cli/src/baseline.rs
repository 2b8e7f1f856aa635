//! `--baseline PATH` / `--baseline-rev REV`: the config as last applied,
//! which tells a change made on the site from a change pending in the config
//! (`drift`), and which `apply --only-origin site` restores.

use std::path::{Path, PathBuf};

use clap::Args;
use rolecall_core::config::load::Loaded;

use crate::error::{CliError, CliResult};
use crate::git;
use crate::settings::Settings;

#[derive(Debug, Args)]
pub struct BaselineArgs {
    /// The config as last applied: tells changes made on the site apart from changes pending in the config.
    #[arg(long, value_name = "PATH", conflicts_with = "baseline_rev")]
    pub baseline: Option<PathBuf>,
    /// The config as it was at this git revision (of the repository holding the config).
    #[arg(long, value_name = "REV")]
    pub baseline_rev: Option<String>,
}

impl BaselineArgs {
    pub fn is_given(&self) -> bool {
        self.baseline.is_some() || self.baseline_rev.is_some()
    }

    /// The baseline, if one is given: a config of the site `site`.
    pub fn load(&self, settings: &Settings, site: &str) -> CliResult<Option<Loaded>> {
        let path = match (&self.baseline, &self.baseline_rev) {
            (Some(path), _) => path.clone(),
            (None, Some(rev)) => {
                // Written out of git into a scratch directory, read, dropped.
                let scratch = tempfile::tempdir()?;
                let path = git::config_at_rev(
                    &settings.config,
                    rev,
                    scratch.path(),
                    settings.max_config_size,
                )?;
                let mut loaded = load_baseline(settings, &path, site)?;
                // Shown as `REV:path`, not the scratch directory's path.
                let prefix = format!("{}/", scratch.path().display());
                loaded
                    .desired
                    .rename_files(|file| match file.strip_prefix(&prefix) {
                        Some(relative) => format!("{rev}:{relative}"),
                        None => file.to_string(),
                    });
                return Ok(Some(loaded));
            }
            (None, None) => return Ok(None),
        };
        load_baseline(settings, &path, site).map(Some)
    }
}

/// The config as last applied: it must exist and be of the same site.
fn load_baseline(settings: &Settings, path: &Path, site: &str) -> CliResult<Loaded> {
    if !path.exists() {
        return Err(CliError::msg(format!(
            "the baseline `{}` does not exist; nothing was read",
            rolecall_core::text::path(path)
        ))
        .with_hint("--baseline takes the config as last applied (a file or directory), or use --baseline-rev REV for a git revision"));
    }
    let baseline = crate::planning::load_config_at(settings, path)?;
    if baseline.desired.site != site {
        return Err(CliError::msg(format!(
            "the baseline is a config of the site `{}`, not `{site}`; nothing was read",
            rolecall_core::text::clean(&baseline.desired.site)
        ))
        .with_hint("give the baseline of this config: the same files as last applied"));
    }
    Ok(baseline)
}
