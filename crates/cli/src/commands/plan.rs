//! `rolecall plan`: what would change on the site.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use rolecall_core::plan::{Plan, render};

use super::site::{self, SiteArgs};
use crate::{GlobalArgs, exit};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people, like Terraform's plan.
    Text,
    /// Versioned JSON (`format_version: 1`), for machines.
    Json,
    /// For a pull-request comment.
    Markdown,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Exit codes: 0 success (no changes with --detailed-exitcode), 1 error, \
2 changes present (with --detailed-exitcode), 3 some change is blocked by a safety rule.

Examples:
  rolecall plan --sandbox examples/data-org/sandbox.json -f examples/data-org
  rolecall plan --format markdown > plan.md
  rolecall plan --target 'user:*@acme.com' --out plan.json"
)]
pub struct PlanArgs {
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Also save the plan to FILE (JSON, with a digest of each live object it touches).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Exit 2 when there are changes, 0 when there are none.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Plan only these objects: `user:GLOB` or `role:GLOB`; repeatable.
    #[arg(long = "target", value_name = "SEL")]
    pub targets: Vec<String>,
    /// Leave these objects out: `user:GLOB` or `role:GLOB`; repeatable.
    #[arg(long = "exclude", value_name = "SEL")]
    pub excludes: Vec<String>,
    #[command(flatten)]
    pub site: SiteArgs,
}

pub fn render(plan: &Plan, format: Format) -> String {
    match format {
        Format::Text => render::text(plan, true),
        Format::Json => render::json(plan),
        Format::Markdown => render::markdown(plan),
    }
}

pub fn run(args: &PlanArgs, global: &GlobalArgs) -> anyhow::Result<u8> {
    let policy = site::policy(&args.targets, &args.excludes)?;
    let loaded = site::load_config(global)?;
    let conn = site::connect(global, &args.site, &loaded.desired.site)?;
    let live = site::fetch(global, &conn)?;
    let plan = site::plan(global, &loaded, &live, &policy)?;
    global
        .stdout()
        .write_all(render(&plan, args.format).as_bytes())?;
    if let Some(out) = &args.out {
        std::fs::write(out, render::json(&plan))
            .with_context(|| format!("cannot write the plan to `{}`", out.display()))?;
    }
    Ok(if plan.is_blocked() {
        exit::BLOCKED
    } else if args.detailed_exitcode && !plan.is_empty() {
        exit::CHANGES
    } else {
        exit::OK
    })
}
