//! Reaching the live site for `plan` and `drift`: credentials or a sandbox,
//! the site check, a read-only fetch with progress, and the diff.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use clap::Args;
use periscope_client::{ApiKey, ClientConfig, Credentials, LiveSite, ReadClient};
use periscope_emulator::{Emulator, Options, Snapshot};
use rolecall_core::diagnostic::Diagnostic;
use rolecall_core::live::{Live, LiveDashboard, LiveRole, LiveUser};
use rolecall_core::load::{self, Loaded};
use rolecall_core::plan::{self, Plan, Policy, Selector};

use crate::GlobalArgs;
use crate::output::{print_diagnostics, report_invalid};

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
pub struct Connection {
    pub reader: ReadClient,
    /// For a writer to the same site.
    pub config: ClientConfig,
    _sandbox: Option<Emulator>,
}

/// An error already shown to the user (diagnostics); only the exit code is left.
#[derive(Debug)]
pub struct Reported(pub u8);

impl std::fmt::Display for Reported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "reported (exit {})", self.0)
    }
}

impl std::error::Error for Reported {}

/// Loads the config, or shows why it is invalid.
pub fn load_config(global: &GlobalArgs) -> anyhow::Result<Loaded> {
    load_config_at(global, &global.config)
}

/// Loads a config for a command that reads the site. Warnings that the site
/// settles (a role defined only there) are left to the diff, which fails on
/// the ones the site does not settle.
pub fn load_config_at(global: &GlobalArgs, path: &std::path::Path) -> anyhow::Result<Loaded> {
    match load::load_path(path) {
        Ok(loaded) => {
            let warnings: Vec<Diagnostic> = loaded
                .warnings
                .iter()
                .filter(|d| d.code != Some(rolecall_core::diagnostic::UNDEFINED_ROLE))
                .cloned()
                .collect();
            print_diagnostics(global, &loaded.sources, &warnings);
            Ok(loaded)
        }
        Err(err) => {
            report_invalid(global, path, &err, "; nothing was sent to the site");
            Err(Reported(crate::exit::ERROR).into())
        }
    }
}

/// Connects to the sandbox or the real site, and refuses a config whose
/// `site` is not the credentials' site before anything else.
pub fn connect(
    global: &GlobalArgs,
    args: &SiteArgs,
    config_site: &str,
) -> anyhow::Result<Connection> {
    let (endpoint, credentials, sandbox) = match &args.sandbox {
        Some(path) => {
            let seed = Snapshot::from_file(path)?;
            let emulator = periscope_emulator::spawn(Options {
                seed: Some(seed),
                ..Options::default()
            })
            .with_context(|| format!("cannot start the sandbox from `{}`", path.display()))?;
            let credentials = Credentials::new(emulator.site(), ApiKey::new(emulator.api_key()));
            (emulator.url(), credentials, Some(emulator))
        }
        None => {
            let credentials =
                Credentials::from_env(global.site.as_deref(), global.api_key_file.as_deref())?;
            (global.endpoint.clone(), credentials, None)
        }
    };
    if credentials.site != config_site {
        let what = if sandbox.is_some() {
            "the sandbox snapshot is"
        } else {
            "the credentials are"
        };
        bail!(
            "the config is for the site `{config_site}` but {what} for `{}`: nothing was read or written\n\n\
             hint: make `site:` in the config and PERISCOPE_SITE (or --site, or the snapshot) name the same site",
            credentials.site
        );
    }
    let config = ClientConfig::new(endpoint, credentials);
    let reader = ReadClient::new(&config)?;
    Ok(Connection {
        reader,
        config,
        _sandbox: sandbox,
    })
}

/// Reads the whole site, with a spinner on a terminal.
pub fn fetch(global: &GlobalArgs, conn: &Connection) -> anyhow::Result<Live> {
    let bar = (std::io::stderr().is_terminal() && !global.quiet).then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_message(format!("reading the site `{}`", conn.reader.site()));
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        bar
    });
    let reader = match &bar {
        Some(bar) => {
            let bar = bar.clone();
            let counts = Arc::new(std::sync::Mutex::new([0usize; 3]));
            conn.reader
                .clone()
                .with_progress(Arc::new(move |kind: &str, n: usize| {
                    let mut c = counts.lock().unwrap_or_else(|e| e.into_inner());
                    match kind {
                        "users" => c[0] = n,
                        "roles" => c[1] = n,
                        _ => c[2] = n,
                    }
                    bar.set_message(format!(
                        "reading the site: {} users, {} roles, {} dashboards",
                        c[0], c[1], c[2]
                    ));
                }))
        }
        None => conn.reader.clone(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let site = runtime.block_on(reader.fetch_site());
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let site = site
        .map_err(|e| match e {
            // No answer at all: most often the endpoint is wrong.
            periscope_client::Error::Network { .. } => anyhow::anyhow!(
                "{e}\n\nhint: check the endpoint (`--endpoint` or ROLECALL_ENDPOINT) and that this machine can reach it"
            ),
            e => e.into(),
        })
        .with_context(|| format!("cannot read the site `{}`; nothing was written", conn.reader.site()))?;
    Ok(to_live(site))
}

/// The client's view of the site in the core's types.
pub fn to_live(site: LiveSite) -> Live {
    Live {
        users: site
            .users
            .into_iter()
            .map(|u| LiveUser {
                id: u.id.0,
                email: u.email,
                first_name: u.first_name,
                last_name: u.last_name,
                roles: u.roles.into_iter().map(|r| r.0).collect(),
            })
            .collect(),
        roles: site
            .roles
            .into_iter()
            .map(|r| {
                let mut privileges =
                    std::collections::BTreeMap::<String, std::collections::BTreeSet<String>>::new();
                for p in r.privileges {
                    privileges
                        .entry(p.object_type)
                        .or_default()
                        .extend(p.permissions);
                }
                let mut grants =
                    std::collections::BTreeMap::<String, std::collections::BTreeSet<String>>::new();
                for p in r
                    .permissions
                    .into_iter()
                    .filter(|p| p.object_type == "Dashboard")
                {
                    grants
                        .entry(p.object_id.0)
                        .or_default()
                        .extend(p.permissions);
                }
                LiveRole {
                    id: r.id.0,
                    name: r.name,
                    description: r.description,
                    privileges,
                    grants,
                }
            })
            .collect(),
        dashboards: site
            .dashboards
            .into_iter()
            .map(|d| LiveDashboard {
                id: d.id.0,
                name: d.name,
            })
            .collect(),
    }
}

/// `--target` / `--exclude` as a policy.
pub fn policy(targets: &[String], excludes: &[String]) -> anyhow::Result<Policy> {
    let parse = |list: &[String]| {
        list.iter()
            .map(|s| Selector::parse(s).map_err(anyhow::Error::msg))
            .collect::<Result<Vec<_>, _>>()
    };
    Ok(Policy {
        targets: parse(targets)?,
        excludes: parse(excludes)?,
    })
}

/// The plan, or the site-dependent errors shown with their config lines.
pub fn plan(
    global: &GlobalArgs,
    loaded: &Loaded,
    live: &Live,
    policy: &Policy,
) -> anyhow::Result<Plan> {
    match plan::diff(&loaded.desired, &loaded.sources, live, policy) {
        Ok(plan) => Ok(plan),
        Err(errors) => {
            use std::io::Write as _;
            print_diagnostics(global, &loaded.sources, &errors);
            let red = anstyle::AnsiColor::Red.on_default().bold();
            let n = errors.len();
            let _ = writeln!(
                global.stderr(),
                "{red}error{red:#}: the config does not fit the site `{}`: {n} error{}; nothing was written",
                loaded.desired.site,
                if n == 1 { "" } else { "s" }
            );
            Err(Reported(crate::exit::ERROR).into())
        }
    }
}
