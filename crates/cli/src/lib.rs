//! `rolecall-cli`: the `rolecall` command line. Flags, environment and the
//! config path are resolved into [`GlobalArgs`] before a command runs; each
//! command is a module with its clap `Args` next to its `run()`.

mod commands;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anstream::ColorChoice;
use clap::{Args, CommandFactory as _, Parser, Subcommand, ValueEnum};

/// Exit codes (DESIGN.md): `0` success, `1` error.
pub mod exit {
    pub const OK: u8 = 0;
    pub const ERROR: u8 = 1;
}

#[derive(Debug, Parser)]
#[command(
    name = "rolecall",
    version,
    about = "Keep the users and roles of a Periscope Data site equal to YAML files in git",
    long_about = "Keep the users and roles of a Periscope Data site (RBAC edition) equal to YAML \
files kept in git.\n\nThe config is `./rolecall.yaml`, or the file or directory given with `-f`.",
    after_help = "Exit codes: 0 success, 1 error.\nDocs: the README and `rolecall <command> --help`.",
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
    /// When to color output: on a terminal (auto, and never with `NO_COLOR`), always, never.
    #[arg(long, global = true, value_name = "WHEN", default_value = "auto")]
    pub color: ColorWhen,
    /// More output on stderr.
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
    /// Run the local Periscope API emulator (for rehearsals and tests).
    Emulator(Box<commands::emulator::EmulatorArgs>),
}

/// Runs the CLI with the process's arguments and returns its exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Validate(args) => commands::validate::run(args, &cli.global),
        Command::Schema(args) => commands::schema::run(args, &cli.global),
        Command::Completions(args) => commands::completions::run(args, &mut Cli::command()),
        Command::Emulator(args) => commands::emulator::run(args, &cli.global),
    };
    match result {
        Ok(code) => ExitCode::from(code),
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
