//! `rolecall plan`: what would change on the site.

use std::io::Write as _;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use rolecall_core::plan::{Plan, render};

use super::site::{self, SelectArgs, SiteArgs};
use crate::error::CliResult;
use crate::exit;
use crate::settings::Settings;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people, like Terraform's plan.
    Text,
    /// Versioned JSON (`format_version: 2`), for machines.
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
    /// Also save the plan to FILE for `rolecall apply FILE` (JSON, with what it was made from: the config's digest, the site's, the endpoint).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Exit 2 when there are changes, 0 when there are none.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// List the users and roles the config does not manage, by name (JSON always does;
    /// unmanaged Admin members are always listed).
    #[arg(long)]
    pub show_unmanaged: bool,
    #[command(flatten)]
    pub select: SelectArgs,
    #[command(flatten)]
    pub site: SiteArgs,
}

pub fn render(plan: &Plan, format: Format, show_unmanaged: bool) -> String {
    let options = site::render_options(true, show_unmanaged);
    match format {
        Format::Text => render::text(plan, &options),
        Format::Json => plan.to_json(),
        Format::Markdown => render::markdown(plan, &options),
    }
}

pub fn run(args: &PlanArgs, settings: &Settings) -> CliResult {
    let selection = args.select.selection()?;
    let loaded = site::load_config(settings)?;
    let conn = site::connect(settings, &args.site, &loaded.desired.site)?;
    let live = site::fetch(settings, &conn)?;
    let mut plan = site::plan(settings, &loaded, &live, &selection)?;
    settings
        .stdout()
        .write_all(render(&plan, args.format, args.show_unmanaged).as_bytes())?;
    if let Some(out) = &args.out {
        // Only the saved file says what it was made from (the endpoint and
        // the commit would make printed plans differ from run to run).
        let made_from = site::made_from(
            settings,
            &loaded,
            &conn,
            &live,
            &args.select.targets,
            &args.select.excludes,
        );
        plan.made_from = Some(made_from);
        site::write_file(out, &plan.to_json(), "the plan")?;
    }
    Ok(if plan.is_blocked() {
        exit::BLOCKED
    } else if args.detailed_exitcode && !plan.is_empty() {
        exit::CHANGES
    } else {
        exit::OK
    })
}
