//! `rolecall-cli`: the `rolecall` command line. Flags, environment and the
//! config path are resolved into [`GlobalArgs`] before a command runs; each
//! command is a module with its clap `Args` next to its `run()`.

mod apply;
mod commands;
mod output;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anstream::ColorChoice;
use clap::{Args, CommandFactory as _, Parser, Subcommand, ValueEnum};

/// Exit codes (DESIGN.md).
pub mod exit {
    /// Success; with `--detailed-exitcode` / `drift`: no changes.
    pub const OK: u8 = 0;
    pub const ERROR: u8 = 1;
    /// Changes present (with `--detailed-exitcode` / `drift`).
    pub const CHANGES: u8 = 2;
    /// Blocked by a safety rail; nothing was written.
    pub const BLOCKED: u8 = 3;
    /// Apply finished with some operations failed (the rest were done).
    pub const PARTIAL: u8 = 4;
}

#[derive(Debug, Parser)]
#[command(
    name = "rolecall",
    version,
    about = "Keep the users and roles of a Periscope Data site equal to YAML files in git",
    long_about = "Keep the users and roles of a Periscope Data site (RBAC edition) equal to YAML \
files kept in git.\n\nThe config is `./rolecall.yaml`, or the file or directory given with `-f`.",
    after_help = "Exit codes: 0 success (no changes with --detailed-exitcode and drift), 1 error, \
2 changes present (--detailed-exitcode, drift), 3 blocked by a safety rule, 4 apply finished \
with some operations failed.\n\
Quick start: rolecall plan --sandbox examples/data-org/sandbox.json -f examples/data-org",
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command takes, before or after the command name.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Config file, or a directory whose `*.yaml`/`*.yml` files are merged.
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
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ColorWhen {
    Auto,
    Always,
    Never,
}

impl GlobalArgs {
    fn color_choice(&self) -> ColorChoice {
        match self.color {
            ColorWhen::Auto => ColorChoice::Auto,
            ColorWhen::Always => ColorChoice::Always,
            ColorWhen::Never => ColorChoice::Never,
        }
    }

    /// Standard error, styled where color is on.
    pub fn stderr(&self) -> anstream::AutoStream<std::io::Stderr> {
        anstream::AutoStream::new(std::io::stderr(), self.color_choice())
    }

    /// Standard output, styled where color is on.
    pub fn stdout(&self) -> anstream::AutoStream<std::io::Stdout> {
        anstream::AutoStream::new(std::io::stdout(), self.color_choice())
    }
}

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
    /// Check the site against the config, for cron: exit 2 on drift.
    Drift(commands::drift::DriftArgs),
    /// Run the local Periscope API emulator (for rehearsals and tests).
    Emulator(Box<commands::emulator::EmulatorArgs>),
}

/// Runs the CLI with the process's arguments and returns its exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.global.verbose > 0 {
        use tracing_subscriber::prelude::*;
        // `-v`: rolecall's own calls; `-vv`: in more detail; `-vvv`: the
        // HTTP stack's too.
        let level = if cli.global.verbose == 1 {
            tracing::Level::DEBUG
        } else {
            tracing::Level::TRACE
        };
        let mut targets = tracing_subscriber::filter::Targets::new()
            .with_target("periscope_client", level)
            .with_target("rolecall_cli", level);
        if cli.global.verbose >= 3 {
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
    let result = match &cli.command {
        Command::Validate(args) => commands::validate::run(args, &cli.global),
        Command::Schema(args) => commands::schema::run(args, &cli.global),
        Command::Completions(args) => commands::completions::run(args, &mut Cli::command()),
        Command::Emulator(args) => commands::emulator::run(args, &cli.global),
        Command::Plan(args) => commands::plan::run(args, &cli.global),
        Command::Drift(args) => commands::drift::run(args, &cli.global),
        Command::Apply(args) => commands::apply::run(args, &cli.global),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) if err.downcast_ref::<commands::site::Reported>().is_some() => ExitCode::from(
            err.downcast_ref::<commands::site::Reported>()
                .map_or(exit::ERROR, |r| r.0),
        ),
        Err(err) => {
            report_error(&cli.global, &err);
            ExitCode::from(exit::ERROR)
        }
    }
}

/// `error: …`, then one `  Caused by: …` line per cause.
fn report_error(global: &GlobalArgs, err: &anyhow::Error) {
    let mut stderr = global.stderr();
    let red = anstyle::AnsiColor::Red.on_default().bold();
    let _ = writeln!(stderr, "{red}error{red:#}: {err}");
    for cause in err.chain().skip(1) {
        let _ = writeln!(stderr, "  Caused by: {cause}");
    }
}
