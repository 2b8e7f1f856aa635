//! `--target` / `--exclude`: which objects a command is about.

use crate::error::{CliError, CliResult};
use clap::Args;
use rolecall_core::plan::{Selection, Selector};

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

/// `--target` / `--exclude` as a selection.
pub(crate) fn selection(targets: &[String], excludes: &[String]) -> CliResult<Selection> {
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
