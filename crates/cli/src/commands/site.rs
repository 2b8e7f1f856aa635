//! Reaching the live site for `plan`, `drift` and `apply`: credentials or a
//! sandbox, the site check, a read-only fetch with progress, and the plan.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::error::{CliError, CliResult, Hint as _};
use crate::exit;
use crate::output::{print_diagnostics, report_invalid};
use crate::settings::Settings;
use clap::Args;
use periscope_client::{ClientConfig, Limit, Listing, ReadClient};
#[cfg(feature = "sandbox")]
use periscope_emulator::{Emulator, Options, Snapshot};
use rolecall_core::config::load::{self, Loaded};
use rolecall_core::diagnostic::{Diagnostic, UNDEFINED_ROLE};
use rolecall_core::live::Live;
use rolecall_core::plan::{MadeFrom, Plan, Review, Selection, Selector, Taken, render};

/// What lifts the limits, as plans name it.
pub const LIFT_LIMITS: &str = "`rolecall apply --allow-mass-delete`";

/// How plans are rendered by this command line.
pub fn render_options(styled: bool, show_unmanaged: bool) -> render::Options<'static> {
    render::Options {
        styled,
        lift_limits: LIFT_LIMITS,
        show_unmanaged,
    }
}

/// How to reach a site.
#[derive(Debug, Args)]
pub struct SiteArgs {
    /// Run against a local emulator seeded from this snapshot instead of the
    /// real site: no credentials, no network.
    #[arg(long, value_name = "SNAPSHOT.json")]
    pub sandbox: Option<PathBuf>,
}

/// Which objects a command is about: `--target` / `--exclude`.
#[derive(Debug, Args)]
pub struct SelectArgs {
    /// Only these objects, and the changes they need: `user:GLOB` or `role:GLOB`;
    /// repeatable. (`apply PLANFILE` keeps the selection the plan was made with.)
    #[arg(long = "target", value_name = "SEL")]
    pub targets: Vec<String>,
    /// Leave these objects out: `user:GLOB` or `role:GLOB`; repeatable.
    #[arg(long = "exclude", value_name = "SEL")]
    pub excludes: Vec<String>,
}

impl SelectArgs {
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty() && self.excludes.is_empty()
    }

    pub fn selection(&self) -> CliResult<Selection> {
        selection(&self.targets, &self.excludes)
    }
}

/// A connection: the read-only client, and the sandbox it talks to (kept
/// alive as long as the connection).
pub struct Connection {
    pub reader: ReadClient,
    /// For a writer to the same site.
    pub config: ClientConfig,
    #[cfg(feature = "sandbox")]
    sandbox: Option<Emulator>,
}

impl Connection {
    /// A throw-away sandbox, not a real site.
    pub fn is_sandbox(&self) -> bool {
        #[cfg(feature = "sandbox")]
        return self.sandbox.is_some();
        #[cfg(not(feature = "sandbox"))]
        false
    }
}

/// Loads the config, or shows why it is invalid.
pub fn load_config(settings: &Settings) -> CliResult<Loaded> {
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
pub fn load_config_at(settings: &Settings, path: &Path) -> CliResult<Loaded> {
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
pub fn note_default_directory(settings: &Settings, path: &Path) {
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

/// Connects to the sandbox or the real site, and refuses a config whose
/// `site` is not the credentials' site before anything else.
pub fn connect(settings: &Settings, args: &SiteArgs, config_site: &str) -> CliResult<Connection> {
    let conn = connect_any(settings, args)?;
    let site = conn.reader.site();
    if site != config_site {
        let what = if conn.is_sandbox() {
            "the sandbox snapshot is"
        } else {
            "the credentials are"
        };
        return Err(CliError::msg(format!(
            "the config is for the site `{config_site}` but {what} for `{site}`: nothing was read or written"
        ))
        .with_hint("make `site:` in the config and PERISCOPE_SITE (or --site, or the snapshot) name the same site"));
    }
    Ok(conn)
}

/// Connects to the sandbox or to the site of the credentials (no config to
/// check them against: `export`).
pub fn connect_any(settings: &Settings, args: &SiteArgs) -> CliResult<Connection> {
    #[cfg(feature = "sandbox")]
    let (endpoint, credentials, sandbox) = match &args.sandbox {
        Some(path) => {
            let emulator = sandbox(path)?;
            let credentials = periscope_client::Credentials::new(
                emulator.site(),
                periscope_client::ApiKey::new(emulator.api_key()),
            );
            (emulator.url(), credentials, Some(emulator))
        }
        None => (settings.endpoint.clone(), settings.credentials()?, None),
    };
    #[cfg(not(feature = "sandbox"))]
    let (endpoint, credentials) = match &args.sandbox {
        Some(_) => return Err(super::emulator::not_in_this_build("`--sandbox`")),
        None => (settings.endpoint.clone(), settings.credentials()?),
    };
    let config = settings.client_config(endpoint, credentials);
    let reader = ReadClient::new(&config)?;
    Ok(Connection {
        reader,
        config,
        #[cfg(feature = "sandbox")]
        sandbox,
    })
}

/// A throw-away emulator seeded from a snapshot file.
#[cfg(feature = "sandbox")]
fn sandbox(path: &Path) -> CliResult<Emulator> {
    let seed = Snapshot::from_file(path)?;
    periscope_emulator::spawn(Options {
        seed: Some(seed),
        ..Options::default()
    })
    .map_err(|e| {
        CliError::msg(format!(
            "cannot start the sandbox from `{}`: {e}",
            path.display()
        ))
    })
}

/// A runtime for the engine's calls.
pub fn runtime() -> CliResult<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

/// What to do about a failed read.
fn read_hint(e: &periscope_client::Error) -> Option<&'static str> {
    match e {
        // No answer at all: most often the endpoint is wrong.
        periscope_client::Error::Network { .. } => Some(
            "check the endpoint (`--endpoint` or ROLECALL_ENDPOINT) and that this machine can reach it",
        ),
        periscope_client::Error::Unauthorized { .. } => {
            Some("check PERISCOPE_SITE (or --site) and PERISCOPE_API_KEY (or --api-key-file)")
        }
        periscope_client::Error::Redirect { .. } => Some(
            "point `--endpoint` (or ROLECALL_ENDPOINT) at the API itself, e.g. https://api.periscopedata.com",
        ),
        periscope_client::Error::Limit { limit, .. } => Some(match limit {
            Limit::BodyBytes(_) => "if the site is really that large, raise `--max-response-size`",
            Limit::Pages(_) => "if the site is really that large, raise `--max-pages`",
            Limit::Items(_) => "if the site is really that large, raise `--max-items`",
            Limit::ReadDeadline(_) => "if the site is slow but answering, raise `--read-deadline`",
        }),
        _ => None,
    }
}

/// A failed read of the site as a command-line error.
pub fn read_error(site: &str, e: periscope_client::Error) -> CliError {
    let hint = read_hint(&e);
    let err: CliError = anyhow::Error::new(e)
        .context(format!(
            "cannot read the site `{site}`; nothing was written"
        ))
        .into();
    match hint {
        Some(h) => err.with_hint(h),
        None => err,
    }
}

/// Reads the whole site, with a spinner on a terminal.
pub fn fetch(settings: &Settings, conn: &Connection) -> CliResult<Live> {
    let bar = (std::io::stderr().is_terminal() && !settings.quiet).then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_message(format!("reading the site `{}`", conn.reader.site()));
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        bar
    });
    let reader = match &bar {
        Some(bar) => {
            let bar = bar.clone();
            let counts = Arc::new(Mutex::new([0usize; 3]));
            conn.reader
                .clone()
                .with_progress(Arc::new(move |listing: Listing, n: usize| {
                    let mut c = counts.lock().unwrap_or_else(|e| e.into_inner());
                    let slot = match listing {
                        Listing::Users => 0,
                        Listing::Roles => 1,
                        Listing::Dashboards => 2,
                    };
                    c[slot] = n;
                    bar.set_message(format!(
                        "reading the site: {} users, {} roles, {} dashboards",
                        c[0], c[1], c[2]
                    ));
                }))
        }
        None => conn.reader.clone(),
    };
    let live = runtime()?.block_on(rolecall_engine::fetch(&reader));
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    live.map_err(|e| read_error(conn.reader.site(), e))
}

/// `--target` / `--exclude` as a selection.
pub fn selection(targets: &[String], excludes: &[String]) -> CliResult<Selection> {
    let parse = |list: &[String]| {
        list.iter()
            .map(|s| Selector::parse(s).map_err(CliError::msg))
            .collect::<Result<Vec<_>, _>>()
    };
    Ok(Selection {
        targets: parse(targets)?,
        excludes: parse(excludes)?,
    })
}

/// The plan with its safety rules checked, or the site-dependent errors
/// shown with their config lines.
pub fn plan(
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
pub fn record(
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
    made_from.config = loaded.file_digests(path);
    made_from.git_commit = crate::git::head_commit(path);
    made_from.targets = targets.to_vec();
    made_from.excludes = excludes.to_vec();
    rolecall_core::pipeline::saved::record(made_from, &loaded.desired, live);
}

/// A snapshot to plan against, read within `--max-snapshot-size`.
pub fn recorded(
    path: &Path,
    settings: &Settings,
    config_site: &str,
) -> CliResult<rolecall_engine::Recorded> {
    let text = read_bounded(path, settings.max_snapshot_size, "`--max-snapshot-size`")?;
    let recorded = rolecall_engine::read_snapshot(&text).map_err(|e| {
        CliError::msg(format!(
            "cannot plan against the snapshot `{}`: {e}; nothing was read or written",
            rolecall_core::text::path(path)
        ))
        .with_hint("take a snapshot with `rolecall export --format snapshot -o FILE` (or `apply`/`drift --snapshot-out FILE`) and do not edit it")
    })?;
    if recorded.site != config_site {
        return Err(CliError::msg(format!(
            "the config is for the site `{config_site}` but the snapshot is of `{}`",
            rolecall_core::text::clean(&recorded.site)
        ))
        .with_hint("plan against a snapshot of the config's site"));
    }
    Ok(recorded)
}

/// A file read whole, no further than `limit` bytes (`flag` raises it).
pub fn read_bounded(path: &Path, limit: usize, flag: &str) -> CliResult<String> {
    let bytes = read_bounded_bytes(path, limit, flag)?;
    let shown = rolecall_core::text::path(path);
    String::from_utf8(bytes).map_err(|_| CliError::msg(format!("`{shown}` is not UTF-8 text")))
}

/// The bytes of a file, refused past `limit` (see [`read_bounded`]).
pub fn read_bounded_bytes(path: &Path, limit: usize, flag: &str) -> CliResult<Vec<u8>> {
    use std::io::Read as _;
    let shown = rolecall_core::text::path(path);
    // A pipe or a device would be waited on, or read forever.
    if std::fs::metadata(path).is_ok_and(|m| !m.is_file()) {
        return Err(CliError::msg(format!("`{shown}` is not a regular file"))
            .with_hint("give the path of the file itself"));
    }
    let file = std::fs::File::open(path).map_err(|e| {
        CliError::msg(format!("cannot read `{shown}`: {e}"))
            .with_hint("check the path: a relative one is from the directory rolecall runs in")
    })?;
    let mut bytes = Vec::new();
    file.take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| CliError::msg(format!("cannot read `{shown}`: {e}")))?;
    if bytes.len() > limit {
        return Err(CliError::msg(format!(
            "`{shown}` is larger than {limit} bytes; nothing was read"
        ))
        .with_hint(format!("if it is really that large, raise {flag}")));
    }
    Ok(bytes)
}

/// A plan, or its errors shown.
pub fn plan_or_report(
    settings: &Settings,
    loaded: &Loaded,
    result: Result<(Plan, Review), Vec<rolecall_core::Diagnostic>>,
) -> CliResult<(Plan, Review)> {
    result.map_err(|errors| does_not_fit(settings, loaded, &errors))
}

/// The errors of a config that does not fit the site, shown with their
/// lines; the error that says so.
pub fn does_not_fit(
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

/// Where and when a site was read, for a snapshot (never the key).
pub fn taken(endpoint: &str, live: &Live) -> Taken {
    Taken {
        endpoint: endpoint.to_string(),
        digest: live.digest(),
        at: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
    }
}

/// The site as read, as a snapshot: with where and when it was taken, what
/// `rolecall plan --from-snapshot` plans against.
pub fn snapshot_text(site: &str, taken: Option<&Taken>, live: &Live) -> CliResult<String> {
    let mut text = serde_json::to_string_pretty(&rolecall_engine::snapshot(site, taken, live))?;
    text.push('\n');
    Ok(text)
}

/// `--snapshot-out FILE` of `apply` and `drift`: the site as read, published
/// for the plan jobs that hold no key.
pub fn write_snapshot(path: &Path, conn: &Connection, live: &Live) -> CliResult<()> {
    let taken = taken(&conn.config.endpoint, live);
    let text = snapshot_text(conn.reader.site(), Some(&taken), live)?;
    write_file(path, &text, "the snapshot")
}

/// Refuses an output path that is a symbolic link: a link committed where
/// a CI job writes its outputs would send them anywhere.
///
/// A relative path is checked whole (`out/plan.json` with `out` a link is
/// refused too): links committed in a checkout are the threat. An absolute
/// path's directories are the machine's (`/tmp` may be a link): only its
/// last part is checked.
pub fn not_a_link(path: &Path, what: &str) -> CliResult<()> {
    let parts: Vec<&Path> = if path.is_absolute() {
        vec![path]
    } else {
        path.ancestors()
            .filter(|p| !p.as_os_str().is_empty())
            .collect()
    };
    for part in parts {
        if std::fs::symlink_metadata(part).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(CliError::msg(format!(
                "`{}` is a symbolic link: {what} is not written through one",
                rolecall_core::text::path(part)
            ))
            .with_hint("remove the link, or write to another path"));
        }
    }
    Ok(())
}

/// Writes a file (never through a symbolic link), saying which one could
/// not be written.
pub fn write_file(path: &Path, text: &str, what: &str) -> CliResult<()> {
    not_a_link(path, what)?;
    std::fs::write(path, text)
        .map_err(|e| CliError::msg(format!("cannot write {what} to `{}`: {e}", path.display())))
        .hint("check that the directory exists and is writable")
}
