//! `rolecall schema`: the JSON Schema of the config format.

use std::io::Write as _;

use clap::Args;

use crate::error::CliResult;
use crate::exit;
use crate::settings::Settings;

#[derive(Debug, Args)]
#[command(
    after_help = "Use it in an editor: put this first line in `rolecall.yaml`:\n  \
# yaml-language-server: $schema=./rolecall.schema.json\nafter `rolecall schema > rolecall.schema.json`."
)]
pub struct SchemaArgs {}

pub(crate) fn run(_: &SchemaArgs, settings: &Settings) -> CliResult {
    settings
        .stdout()
        .write_all(rolecall_core::config::schema::json().as_bytes())?;
    Ok(exit::OK)
}
