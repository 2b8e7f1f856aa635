//! The config loaded, planned against the site and shown as this command
//! line shows it: what `plan`, `drift` and `apply` share.

use std::path::Path;

use crate::error::{CliError, CliResult};
use crate::exit;
use crate::output::{print_diagnostics, report_invalid};
use crate::settings::Settings;
use rolecall_core::config::load::{self, Loaded};
use rolecall_core::diagnostic::{Diagnostic, UNDEFINED_ROLE};
use rolecall_core::live::Live;
use rolecall_core::plan::{MadeFrom, Plan, Review, Selection, render};

/// What lifts the limits, as plans name it.
pub(crate) const LIFT_LIMITS: &str = "`rolecall apply --allow-mass-delete`";

/// How plans are rendered by this command line.
pub(crate) fn render_options(styled: bool, show_unmanaged: bool) -> render::Options<'static> {
    render::Options {
        styled,
        lift_limits: LIFT_LIMITS,
        show_unmanaged,
    }
}

/// Loads the config, or shows why it is invalid.
pub(crate) fn load_config(settings: &Settings) -> CliResult<Loaded> {
    let mut loaded = load_config_at(settings, &settings.config)?;
    // Memberships past their `until` are not wanted any more.
    let today = settings.today()?;
    loaded.desired.expire(today);
    Ok(loaded)
}

/// Loads a config for a command that reads the site. Warnings that the site
/// settles (a role defined only there) are left to the diff, which fails on
/// the ones the site does not settle.
/// Memberships are not expired here: a baseline is the config as it was
/// applied, when they held ([`load_config`] expires them).
pub(crate) fn load_config_at(settings: &Settings, path: &Path) -> CliResult<Loaded> {
    match load::load_path_with(path, &settings.load_options()) {
        Ok(loaded) => {
            let warnings: Vec<Diagnostic> = loaded
                .warnings
                .iter()
                .filter(|d| d.code != Some(UNDEFINED_ROLE))
                .cloned()
                .collect();
            print_diagnostics(settings, &loaded.sources, &warnings);
            Ok(loaded)
        }
        Err(err) => {
            report_invalid(settings, path, &err, "; nothing was sent to the site");
            note_default_directory(settings, path);
            Err(CliError::reported(exit::ERROR))
        }
    }
}

/// After a config that does not load: why rolecall read the directory,
/// when it chose to (its `rolecall.yaml` has files of entries beside it).
pub(crate) fn note_default_directory(settings: &Settings, path: &Path) {
    if !settings.config_whole {
        return;
    }
    use std::io::Write as _;
    let _ = writeln!(
        settings.stderr(),
        "note: `{}` was read as one config because files beside or under its `rolecall.yaml` hold `roles:` or `users:`; a directory holds one config: a file there that is not part of it (another site's config, a stray file) belongs elsewhere",
        rolecall_core::text::path(path)
    );
}

/// The plan with its safety rules checked, or the site-dependent errors
/// shown with their config lines.
pub(crate) fn plan(
    settings: &Settings,
    loaded: &Loaded,
    live: &Live,
    selection: &Selection,
) -> CliResult<(Plan, Review)> {
    let result = rolecall_core::pipeline::plan(&loaded.desired, &loaded.sources, live, selection);
    plan_or_report(settings, loaded, result)
}

/// Records in `made_from` what a saved plan is made from beyond where the
/// site was read: the config's files and entries, the site's objects, the
/// selection; `apply PLANFILE` judges the plan by them.
pub(crate) fn record(
    made_from: &mut MadeFrom,
    settings: &Settings,
    loaded: &Loaded,
    live: &Live,
    targets: &[String],
    excludes: &[String],
) {
    let path = if settings.config.as_os_str().is_empty() {
        Path::new(".")
    } else {
        settings.config.as_path()
    };
    made_from.config = loaded.file_checksums(path);
    made_from.git_commit = crate::git::head_commit(path);
    made_from.targets = targets.to_vec();
    made_from.excludes = excludes.to_vec();
    rolecall_core::pipeline::saved::record(made_from, &loaded.desired, live);
}

/// A plan, or its errors shown.
pub(crate) fn plan_or_report(
    settings: &Settings,
    loaded: &Loaded,
    result: Result<(Plan, Review), Vec<rolecall_core::Diagnostic>>,
) -> CliResult<(Plan, Review)> {
    result.map_err(|errors| does_not_fit(settings, loaded, &errors))
}

/// The errors of a config that does not fit the site, shown with their
/// lines; the error that says so.
pub(crate) fn does_not_fit(
    settings: &Settings,
    loaded: &Loaded,
    errors: &[rolecall_core::Diagnostic],
) -> CliError {
    print_diagnostics(settings, &loaded.sources, errors);
    CliError::msg(format!(
        "the config does not fit the site `{}`: {}; nothing was written",
        loaded.desired.site,
        rolecall_core::plural(errors.len(), "error")
    ))
}

/// The directory a config's paths are relative to (`files:` globs,
/// `review.packs`): the config itself when it is a directory, else the
/// directory its file is in.
pub(crate) fn config_root(settings: &Settings) -> std::path::PathBuf {
    if settings.config.is_dir() {
        settings.config.clone()
    } else {
        settings
            .config
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
    }
}
