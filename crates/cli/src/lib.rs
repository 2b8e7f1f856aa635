//! `rolecall-cli`: the `rolecall` command line. Flags and environment are
//! resolved into [`Settings`] once, before a command runs; each command is a
//! module with its clap `Args` next to its `run()`, which reads: parse,
//! resolve, call the engine, print.

mod baseline;
mod commands;
mod connect;
mod error;
mod fsio;
mod git;
mod output;
mod planning;
mod select;
mod settings;
mod snapshot;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory as _, FromArgMatches as _, Parser, Subcommand, ValueEnum};

pub use error::{CliError, CliResult};
pub use settings::Settings;

/// Exit codes (DESIGN.md).
pub mod exit {
    /// Success; with `--detailed-exitcode` / `drift`: no changes.
    pub const OK: u8 = 0;
    /// An error: nothing was written, or what was is said.
    pub const ERROR: u8 = 1;
    /// Changes present (with `--detailed-exitcode` / `drift`).
    pub const CHANGES: u8 = 2;
    /// Blocked by a safety rail; nothing was written.
    pub const BLOCKED: u8 = 3;
    /// Apply finished with some operations failed, or stopped by refused
    /// credentials (the rest were done).
    pub const PARTIAL: u8 = 4;
    /// The saved plan is stale: the site or the config changed since it was
    /// made; nothing was written.
    pub const STALE: u8 = 5;
    /// Interrupted (Ctrl-C, SIGTERM); the report says what was done.
    pub const INTERRUPTED: u8 = 130;
}

#[derive(Debug, Parser)]
#[command(
    name = "rolecall",
    version,
    about = "Keep the users and roles of a Periscope Data site equal to YAML files in git",
    long_about = "Keep the users and roles of a Periscope Data site (RBAC edition) equal to YAML \
files kept in git.\n\nThe config is `./rolecall.yaml`, or the file or directory given with `-f`.",
    after_help = "Exit codes: 0 success (no changes with --detailed-exitcode and drift), 1 error \
(usage errors included), 2 changes present (--detailed-exitcode, drift), 3 blocked by a safety \
rule or the policy, 4 apply finished with some operations failed, 5 the saved plan is stale (plan again), \
130 interrupted.\n\
Quick start: rolecall plan --sandbox examples/data-org/sandbox.json -f examples/data-org",
    propagate_version = true
)]
/// The command line: global flags and one subcommand.
pub struct Cli {
    /// Flags every subcommand takes.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command takes, before or after the command name.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Config file, or a directory whose `*.yaml`/`*.yml` files are merged. Without it:
    /// `./rolecall.yaml`, or the current directory as a whole when `rolecall.yaml` is the
    /// root of a directory config (other files with `roles:` or `users:` beside it or in
    /// folders under it).
    #[arg(
        short = 'f',
        long = "config",
        global = true,
        value_name = "PATH",
        default_value = "rolecall.yaml",
        env = "ROLECALL_CONFIG"
    )]
    pub config: PathBuf,
    /// API endpoint.
    #[arg(long, global = true, value_name = "URL", env = "ROLECALL_ENDPOINT", default_value = periscope_client::DEFAULT_ENDPOINT)]
    pub endpoint: String,
    /// Site name (else `PERISCOPE_SITE`): the segment after /app/ in a dashboard URL.
    #[arg(long, global = true, value_name = "SITE")]
    pub site: Option<String>,
    /// File holding the API key (else `PERISCOPE_API_KEY`).
    #[arg(long, global = true, value_name = "FILE")]
    pub api_key_file: Option<PathBuf>,
    /// When to color output: on a terminal (auto, and never with `NO_COLOR`), always, never.
    #[arg(long, global = true, value_name = "WHEN", default_value = "auto")]
    pub color: ColorWhen,
    /// More output on stderr: `-v` logs each API call, `-vv` more, `-vvv` everything (never the API key).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Less output on stderr: errors only.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Bounds on what a server can make rolecall read.
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// Bounds on what rolecall reads; each stops a read or a load with an error
/// that names the flag raising it.
#[derive(Debug, Args)]
#[command(next_help_heading = "Limits")]
pub struct LimitArgs {
    /// Time for one HTTP request, from sending to the end of the answer.
    #[arg(long, global = true, value_name = "DURATION", default_value = "30s", value_parser = settings::duration)]
    pub timeout: std::time::Duration,
    /// Time a call may spend on retries before it fails: a 429, a 5xx or a connection closed
    /// before any answer is retried with backoff, up to 8 attempts; a server that cannot be
    /// reached or does not answer is tried 3 times, a refused connection to this machine twice.
    #[arg(long, global = true, value_name = "DURATION", default_value = "2m", value_parser = settings::duration)]
    pub retry_budget: std::time::Duration,
    /// Time to read a whole site.
    #[arg(long, global = true, value_name = "DURATION", default_value = "10m", value_parser = settings::duration)]
    pub read_deadline: std::time::Duration,
    /// Bytes of one answer of the API (K, M, G suffixes: KiB, MiB, GiB).
    #[arg(long, global = true, value_name = "SIZE", default_value = "64M", value_parser = settings::size)]
    pub max_response_size: usize,
    /// Pages of one listing (users, roles, dashboards); 1 or more.
    #[arg(long, global = true, value_name = "N", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=u32::MAX as u64))]
    pub max_pages: u64,
    /// Items of one listing; 1 or more.
    #[arg(long, global = true, value_name = "N", default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..=u32::MAX as u64))]
    pub max_items: u64,
    /// Requests per second to the API, at most (all calls together; 0.01 to 100000). Without
    /// it there is no fixed ceiling: the client paces itself to what the site serves.
    #[arg(long, global = true, value_name = "N", value_parser = settings::rate)]
    pub rate_limit: Option<f64>,
    /// Bytes of one config file (K, M, G suffixes).
    #[arg(long, global = true, value_name = "SIZE", default_value = "64M", value_parser = settings::size)]
    pub max_config_size: usize,
    /// Bytes of a snapshot (`plan --from-snapshot`) or a saved plan (`apply PLANFILE`) file
    /// (K, M, G suffixes).
    #[arg(long, global = true, value_name = "SIZE", default_value = "256M", value_parser = settings::size)]
    pub max_snapshot_size: usize,
}

/// `--color`: when output is styled.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ColorWhen {
    /// When the stream is a terminal and `NO_COLOR` is not set.
    Auto,
    /// Always, even into a file or a pipe.
    Always,
    /// Never.
    Never,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the config offline: syntax, keys, names, references. No credentials needed.
    Validate(commands::validate::ValidateArgs),
    /// Print the JSON Schema of the config format, for editors.
    Schema(commands::schema::SchemaArgs),
    /// Print a shell completion script.
    Completions(commands::completions::CompletionsArgs),
    /// Show what would change on the site to make it equal the config.
    Plan(commands::plan::PlanArgs),
    /// Make the site equal the config (or carry out a saved plan).
    Apply(commands::apply::ApplyArgs),
    /// Show a saved plan again (text, JSON or markdown): no config, no key, no network.
    Show(commands::show::ShowArgs),
    /// Check the site against the config, for cron: exit 2 on drift.
    Drift(commands::drift::DriftArgs),
    /// Who can do what on which dashboard, and through which roles.
    Access(commands::access::AccessArgs),
    /// The periodic access review: a pack for auditors, reviewers' decisions checked, proposed as config edits, and verified.
    Review(commands::review::ReviewArgs),
    /// Check or update the config's lock: the dashboard each name of the config is pinned to.
    Lock(commands::lock::LockArgs),
    /// Write the live site as a config that plans to no changes (or as a snapshot).
    Export(commands::export::ExportArgs),
    /// Turn a CSV of people (the vendor's bulk-user format) into `users:` YAML.
    ImportCsv(commands::import_csv::ImportCsvArgs),
    /// Run the local Periscope API emulator (for rehearsals and tests).
    Emulator(Box<commands::emulator::EmulatorArgs>),
}

/// The flags every command takes that only a client of the API uses:
/// hidden from `rolecall emulator --help`, where they would do nothing.
const CLIENT_FLAGS: &[&str] = &[
    "config",
    "endpoint",
    "api_key_file",
    "timeout",
    "retry_budget",
    "read_deadline",
    "max_response_size",
    "max_pages",
    "max_items",
    "max_config_size",
    "max_snapshot_size",
];

/// The command line as rolecall parses it: [`Cli`], with the client's
/// global flags hidden from the emulator's help.
pub fn command() -> clap::Command {
    let mut cmd = Cli::command();
    cmd.build();
    cmd.mut_subcommand("emulator", |sub| {
        sub.mut_args(|a| {
            if CLIENT_FLAGS.contains(&a.get_id().as_str()) {
                a.hide(true)
            } else {
                a
            }
        })
    })
}

/// Runs the CLI with the process's arguments and returns its exit code. A
/// usage error exits 1 (never 2, which `drift` and `--detailed-exitcode`
/// use for "changes found"); `--help` and `--version` exit 0.
pub fn main() -> ExitCode {
    let parsed = command()
        .try_get_matches()
        .and_then(|m| Ok((Cli::from_arg_matches(&m)?, m)));
    let (cli, matches) = match parsed {
        Ok(parsed) => parsed,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                exit::ERROR
            } else {
                exit::OK
            });
        }
    };
    let mut settings = Settings::resolve(&cli.global);
    // `-f` (or ROLECALL_CONFIG) given, not the default: a command that
    // reads a config only if there is one must not skip a missing one.
    let given = |m: &clap::ArgMatches| {
        m.value_source("config")
            .is_some_and(|s| s != clap::parser::ValueSource::DefaultValue)
    };
    settings.config_given = given(&matches) || matches.subcommand().is_some_and(|(_, m)| given(m));
    // Only commands that read a config look for one (the look walks the
    // current directory).
    let reads_config = !matches!(
        cli.command,
        Command::Schema(_) | Command::Completions(_) | Command::Emulator(_) | Command::Show(_)
    );
    if reads_config {
        settings.resolve_config();
    }
    if settings.verbose > 0 {
        init_logging(settings.verbose);
    }
    let result = match &cli.command {
        Command::Validate(args) => commands::validate::run(args, &settings),
        Command::Schema(args) => commands::schema::run(args, &settings),
        Command::Completions(args) => commands::completions::run(args, &mut command()),
        Command::Emulator(args) => commands::emulator::run(args, &settings),
        Command::Plan(args) => commands::plan::run(args, &settings),
        Command::Drift(args) => commands::drift::run(args, &settings),
        Command::Apply(args) => commands::apply::run(args, &settings),
        Command::Show(args) => commands::show::run(args, &settings),
        Command::Export(args) => commands::export::run(args, &settings),
        Command::Lock(args) => commands::lock::run(args, &settings),
        Command::Access(args) => commands::access::run(args, &settings),
        Command::Review(args) => commands::review::run(args, &settings),
        Command::ImportCsv(args) => commands::import_csv::run(args, &settings),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            err.report(&mut settings.stderr(), |t| settings.redact(t));
            ExitCode::from(err.code())
        }
    }
}

/// `-v`: rolecall's own calls; `-vv`: in more detail; `-vvv`: the HTTP
/// stack's too.
fn init_logging(verbose: u8) {
    use tracing_subscriber::prelude::*;
    let level = if verbose == 1 {
        tracing::Level::DEBUG
    } else {
        tracing::Level::TRACE
    };
    let mut targets = tracing_subscriber::filter::Targets::new()
        .with_target("periscope_client", level)
        .with_target("rolecall_engine", level)
        .with_target("rolecall_cli", level);
    if verbose >= 3 {
        targets = targets.with_default(level);
    }
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(false),
        )
        .with(targets)
        .init();
}
