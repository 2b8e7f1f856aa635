//! A build without the `sandbox` feature: no emulator is linked in. The
//! `emulator` command and `--sandbox` stay in the grammar, so scripts get a
//! clear error instead of a usage error, and `--help` reads the same.

use std::ffi::OsString;

use clap::Args;

use crate::error::{CliError, CliResult};
use crate::settings::Settings;

/// Whatever `rolecall emulator` was given; nothing is run.
#[derive(Debug, Args)]
pub struct EmulatorArgs {
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        hide = true,
        num_args = 0..
    )]
    pub args: Vec<OsString>,
}

/// The error for a part of rolecall this build leaves out.
pub(crate) fn not_in_this_build(what: &str) -> CliError {
    CliError::msg(format!(
        "{what} is not in this build of rolecall: it was built without the `sandbox` feature"
    ))
    .with_hint("the default build has it: `cargo install --locked --path .` from a clone, without `--no-default-features`")
}

pub(crate) fn run(_args: &EmulatorArgs, _settings: &Settings) -> CliResult {
    Err(not_in_this_build("`rolecall emulator`"))
}
