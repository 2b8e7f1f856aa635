//! `rolecall emulator`: run the local API emulator until Ctrl-C.

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use periscope_emulator::{Faults, Logged, Options, Outcome, Quirks, Snapshot};

use crate::error::CliResult;
use crate::exit;
use crate::settings::Settings;

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  rolecall emulator                                  a new site: five default roles, one admin
  rolecall emulator --seed examples/data-org/sandbox.json
  rolecall emulator --latency 20-80 --error-rate 0.1 --rate-limit 50 --quirk all

It binds 127.0.0.1 only, prints the URL and credentials to use, and logs one line per request on stderr.")]
pub struct EmulatorArgs {
    /// Port on 127.0.0.1; `0` picks a free one.
    #[arg(long, default_value_t = 8089)]
    pub port: u16,
    /// A snapshot to start from (`rolecall export --format snapshot` writes one).
    #[arg(long, value_name = "SNAPSHOT.json")]
    pub seed: Option<PathBuf>,
    /// API key to accept. Default: the seed's, or a fixed local key (printed).
    #[arg(long, value_name = "KEY")]
    pub api_key: Option<String>,
    /// Items per page of paginated lists (1 to 100000).
    #[arg(long, default_value_t = 100, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub page_size: u32,
    /// Latency added to each answer, in milliseconds (60000 at most): fixed (`20`) or a range (`10-80`).
    #[arg(long, value_name = "MS[-MS]", value_parser = parse_latency)]
    pub latency: Option<(Duration, Duration)>,
    /// Probability (0 to 1) of answering `500` without handling the request.
    #[arg(long, default_value_t = 0.0, value_name = "P", value_parser = parse_probability)]
    pub error_rate: f64,
    /// Requests per second above which the answer is `429` with `Retry-After`
    /// (a token bucket; 0.01 to 100000).
    #[arg(long, value_name = "PER_SECOND", value_parser = crate::settings::rate)]
    pub rate_limit: Option<f64>,
    /// Requests the bucket of `--rate-limit` lets through at once (default: one second's worth).
    #[arg(long, value_name = "N", requires = "rate_limit", value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub rate_burst: Option<u32>,
    /// Probability (0 to 1) of answering `429` with `Retry-After: 1` whatever the
    /// rate, as when another job shares the API key.
    #[arg(long, default_value_t = 0.0, value_name = "P", value_parser = parse_probability)]
    pub shed_rate: f64,
    /// Workers of the server: beyond N requests in flight, latency grows in
    /// proportion to the load (`--latency` × in flight / N; 10 ms without `--latency`).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub capacity: Option<u32>,
    /// Probability of closing the connection before handling the request.
    #[arg(long, default_value_t = 0.0, value_name = "P", value_parser = parse_probability)]
    pub drop_rate: f64,
    /// Probability, for a write, of applying it and then closing the connection unanswered.
    #[arg(long, default_value_t = 0.0, value_name = "P", value_parser = parse_probability)]
    pub lost_response_rate: f64,
    /// A wire quirk the client must tolerate; repeat for several, or `all`.
    #[arg(long = "quirk", value_enum, value_name = "QUIRK")]
    pub quirks: Vec<QuirkArg>,
    /// An action name to accept besides the known ones; repeatable.
    #[arg(long = "extra-action", value_name = "NAME")]
    pub extra_actions: Vec<String>,
    /// Seed of the random generator (faults and ids), to replay a run.
    #[arg(long, default_value_t = 0x5EED, value_name = "N")]
    pub rng_seed: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum QuirkArg {
    /// Single objects as `{"user": {...}}`.
    WrapSingle,
    /// Dashboard ids as JSON numbers.
    NumericDashboardIds,
    /// `DELETE` answers `200` with a body.
    #[value(name = "delete-200", alias = "delete200")]
    Delete200,
    /// The role list is paginated.
    PaginateRoles,
    /// Unknown extra fields everywhere.
    ExtraFields,
    /// Users listed without `roles`.
    ListUsersWithoutRoles,
    /// All of the above.
    All,
}

fn parse_probability(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        _ => Err(format!(
            "`{s}` is not a probability: write a number from 0 to 1, e.g. `0.1`"
        )),
    }
}

fn parse_latency(s: &str) -> Result<(Duration, Duration), String> {
    let ms = |t: &str| match t.trim().parse::<u64>() {
        Ok(ms) if ms <= 60_000 => Ok(Duration::from_millis(ms)),
        Ok(_) => Err(format!("`{s}`: a latency is 60000 ms at most")),
        Err(_) => Err(format!(
            "`{s}` is not a latency: write milliseconds, `20` or `10-80`"
        )),
    };
    match s.split_once('-') {
        Some((min, max)) => {
            let (min, max) = (ms(min)?, ms(max)?);
            if min > max {
                return Err(format!("`{s}`: the range must go from low to high"));
            }
            Ok((min, max))
        }
        None => ms(s).map(|d| (d, d)),
    }
}

impl EmulatorArgs {
    fn options(&self, site: Option<String>) -> anyhow::Result<Options> {
        let seed = match &self.seed {
            Some(path) => Some(Snapshot::from_file(path)?),
            None => None,
        };
        let has = |q: QuirkArg| self.quirks.contains(&q) || self.quirks.contains(&QuirkArg::All);
        Ok(Options {
            site,
            api_key: self.api_key.clone(),
            seed,
            port: self.port,
            page_size: self.page_size as usize,
            faults: Faults {
                latency: self.latency,
                error_rate: self.error_rate,
                rate_limit: self.rate_limit,
                rate_burst: self.rate_burst.map(f64::from),
                shed_rate: self.shed_rate,
                drop_rate: self.drop_rate,
                lost_response_rate: self.lost_response_rate,
                capacity: self.capacity.map(|n| n as usize),
                ..Faults::default()
            },
            quirks: Quirks {
                wrap_single: has(QuirkArg::WrapSingle),
                numeric_dashboard_ids: has(QuirkArg::NumericDashboardIds),
                delete_200: has(QuirkArg::Delete200),
                paginate_roles: has(QuirkArg::PaginateRoles),
                extra_fields: has(QuirkArg::ExtraFields),
                list_users_without_roles: has(QuirkArg::ListUsersWithoutRoles),
            },
            rng_seed: self.rng_seed,
            extra_actions: self.extra_actions.clone(),
            ..Options::default()
        })
    }
}

/// One log line: status, method, path, duration, and what a fault did.
fn log_line(r: &Logged) -> String {
    let status = r.status.map_or("---".to_string(), |s| s.to_string());
    let query = r
        .query
        .as_deref()
        .map(|q| format!("?{q}"))
        .unwrap_or_default();
    let note = match r.outcome {
        Outcome::Answered => "",
        Outcome::Dropped => "  (connection dropped before handling)",
        Outcome::Lost => "  (handled, answer lost)",
    };
    format!(
        "{status} {} {}{query} {:.1}ms{note}",
        r.method,
        r.path,
        r.duration.as_secs_f64() * 1e3
    )
}

pub(crate) fn run(args: &EmulatorArgs, settings: &Settings) -> CliResult {
    // The global `--site` names the site to serve (the seed's, if one is given).
    let mut options = args.options(settings.site_flag.clone())?;
    if !settings.quiet {
        options.on_request = Some(Arc::new(|r: &Logged| {
            let _ = writeln!(std::io::stderr(), "{}", log_line(r));
        }));
    }
    let emulator = periscope_emulator::spawn(options).with_context(|| {
        if args.port != 0 {
            format!(
                "could not start the emulator (is port {} in use? `--port 0` picks a free one)",
                args.port
            )
        } else {
            "could not start the emulator".to_string()
        }
    })?;
    let snapshot = emulator.snapshot();
    let mut out = settings.stdout();
    writeln!(
        out,
        "Periscope API emulator for site `{}` ({} users, {} roles, {} dashboards) on {}\n\n  \
         export ROLECALL_ENDPOINT={}\n  export PERISCOPE_SITE={}\n  export PERISCOPE_API_KEY={}\n\n\
         Ctrl-C stops it.",
        emulator.site(),
        snapshot.users.len(),
        snapshot.roles.len(),
        snapshot.dashboards.len(),
        emulator.url(),
        emulator.url(),
        emulator.site(),
        emulator.api_key(),
    )?;
    out.flush()?;
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(tokio::signal::ctrl_c())
        .context("cannot wait for Ctrl-C")?;
    drop(emulator);
    writeln!(settings.stderr(), "emulator stopped")?;
    Ok(exit::OK)
}
