//! Reaching the live site: credentials or a sandbox, the site check, and
//! a read-only fetch with progress.

use std::io::IsTerminal as _;
#[cfg(feature = "sandbox")]
use std::path::Path;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::error::{CliError, CliResult};
use crate::settings::Settings;
use clap::Args;
use periscope_client::{ClientConfig, Limit, Listing, ReadClient};
#[cfg(feature = "sandbox")]
use periscope_emulator::{Emulator, Options, Snapshot};
use rolecall_core::live::Live;

/// How to reach a site.
#[derive(Debug, Args)]
pub struct SiteArgs {
    /// Run against a local emulator seeded from this snapshot instead of the
    /// real site: no credentials, no network.
    #[arg(long, value_name = "SNAPSHOT.json")]
    pub sandbox: Option<PathBuf>,
}

/// A connection: the read-only client, and the sandbox it talks to (kept
/// alive as long as the connection).
pub(crate) struct Connection {
    pub reader: ReadClient,
    /// For a writer to the same site.
    pub config: ClientConfig,
    #[cfg(feature = "sandbox")]
    sandbox: Option<Emulator>,
}

impl Connection {
    /// A throw-away sandbox, not a real site.
    pub(crate) fn is_sandbox(&self) -> bool {
        #[cfg(feature = "sandbox")]
        return self.sandbox.is_some();
        #[cfg(not(feature = "sandbox"))]
        false
    }
}

/// Connects to the sandbox or the real site, and refuses a config whose
/// `site` is not the credentials' site before anything else.
pub(crate) fn connect(
    settings: &Settings,
    args: &SiteArgs,
    config_site: &str,
) -> CliResult<Connection> {
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
pub(crate) fn connect_any(settings: &Settings, args: &SiteArgs) -> CliResult<Connection> {
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
        Some(_) => return Err(crate::commands::emulator::not_in_this_build("`--sandbox`")),
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
pub(crate) fn runtime() -> CliResult<tokio::runtime::Runtime> {
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
pub(crate) fn read_error(site: &str, e: periscope_client::Error) -> CliError {
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
pub(crate) fn fetch(settings: &Settings, conn: &Connection) -> CliResult<Live> {
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
