//! `rolecall plan`: what would change on the site.

use std::io::Write as _;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use rolecall_core::plan::{MadeFrom, Plan, Review, render};

use crate::connect::SiteArgs;
use crate::error::CliResult;
use crate::exit;
use crate::select::SelectArgs;
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
2 changes present (with --detailed-exitcode), 3 some change is blocked by a safety rule or the policy.

Examples:
  rolecall plan --sandbox examples/data-org/sandbox.json -f examples/data-org
  rolecall plan --format markdown > plan.md
  rolecall plan --target 'user:*@acme.com' --out plan.json
  rolecall plan --from-snapshot site.json --out plan.json   # no key: apply it with one"
)]
pub struct PlanArgs {
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Also save the plan to FILE for `rolecall apply FILE` (JSON, with what it was made from:
    /// the endpoint, a checksum of each config entry and of each live object; never the key).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Exit 2 when there are changes, 0 when there are none.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// List the users and roles the config does not manage, by name (JSON always does;
    /// unmanaged Admin members are always listed).
    #[arg(long)]
    pub show_unmanaged: bool,
    /// Plan against a snapshot of the site instead of reading it: no credentials, no
    /// network. The snapshot comes from `rolecall export --format snapshot` or from
    /// `apply`/`drift --snapshot-out`; a plan saved with `--out` is applied with the key by
    /// `rolecall apply PLANFILE`, which reads the live site and refuses a stale plan.
    #[arg(long, value_name = "SNAPSHOT.json", conflicts_with = "sandbox")]
    pub from_snapshot: Option<PathBuf>,
    /// A review pack whose decisions this plan carries out: says which of its revokes the plan makes ("3 of 3 revokes in this plan").
    #[arg(long, value_name = "DIR")]
    pub pack: Option<PathBuf>,
    #[command(flatten)]
    pub select: SelectArgs,
    #[command(flatten)]
    pub site: SiteArgs,
}

/// `--pack`: the revokes of a review pack that the plan carries out, and
/// those it does not.
fn pack_section(
    dir: &std::path::Path,
    plan: &Plan,
    settings: &Settings,
    markdown: bool,
) -> CliResult<String> {
    use std::fmt::Write as _;
    let opened = super::review::open(dir, settings)?;
    if opened.manifest.site != plan.site {
        return Err(crate::error::CliError::msg(format!(
            "the pack is of the site `{}`, the plan of `{}`",
            rolecall_core::text::clean(&opened.manifest.site),
            plan.site
        ))
        .with_hint("give the pack of this config's site"));
    }
    let args = super::review::CheckArgs {
        dir: dir.to_path_buf(),
        decisions: None,
        due: None,
    };
    let (checked, path) = super::review::checked(&opened, &args, settings)?;
    let (done, not) = rolecall_core::review::decisions::carried(plan, &checked.decisions);
    let shown = rolecall_core::text::path(&path);
    let total = done.len() + not.len();
    let mut out = String::new();
    let bullet = if markdown { "-" } else { "  -" };
    let blocked = if plan.is_blocked() {
        "; the plan is blocked, so apply carries out none of them until that is fixed"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "\n{}Review pack {}: {} of {} in this plan{blocked}{}",
        if markdown { "### " } else { "" },
        opened.manifest.pack_id,
        done.len(),
        rolecall_core::plural(total, "revoke"),
        if checked.problems.is_empty() {
            String::new()
        } else {
            format!(
                " ({} in {shown}: run `rolecall review check`)",
                rolecall_core::plural(checked.problems.len(), "problem")
            )
        }
    );
    let code = |s: &str| rolecall_core::text::code_text(s);
    for (d, i) in &done {
        let _ = writeln!(
            out,
            "{bullet} `{}`: `{}` revoked by change {} ({shown}:{}, decided by `{}`)",
            code(&d.email),
            code(&d.role),
            i + 1,
            d.line,
            code(&d.reviewer)
        );
    }
    for d in &not {
        let _ = writeln!(
            out,
            "{bullet} not in this plan: `{}`: `{}` ({shown}:{}): run `rolecall review propose`, or it is already gone",
            code(&d.email),
            code(&d.role),
            d.line
        );
    }
    Ok(out)
}

pub(crate) fn render(plan: &Plan, review: &Review, format: Format, show_unmanaged: bool) -> String {
    let options = crate::planning::render_options(true, show_unmanaged);
    match format {
        Format::Text => render::text(plan, review, &options),
        Format::Json => render::json(plan, review),
        Format::Markdown => render::markdown(plan, review, &options),
    }
}

pub(crate) fn run(args: &PlanArgs, settings: &Settings) -> CliResult {
    let selection = args.select.selection()?;
    let loaded = crate::planning::load_config(settings)?;
    let (live, mut made_from, taken) = match &args.from_snapshot {
        Some(path) => {
            let recorded = crate::snapshot::recorded(path, settings, &loaded.desired.site)?;
            let made_from = MadeFrom {
                endpoint: recorded.taken.endpoint.clone(),
                ..MadeFrom::default()
            };
            (recorded.live, made_from, Some(recorded.taken))
        }
        None => {
            let conn = crate::connect::connect(settings, &args.site, &loaded.desired.site)?;
            let live = crate::connect::fetch(settings, &conn)?;
            let made_from = MadeFrom {
                endpoint: conn.config.endpoint.clone(),
                sandbox: conn.is_sandbox(),
                ..MadeFrom::default()
            };
            (live, made_from, None)
        }
    };
    let (mut plan, review) = crate::planning::plan(settings, &loaded, &live, &selection)?;
    crate::planning::record(
        &mut made_from,
        settings,
        &loaded,
        &live,
        &args.select.targets,
        &args.select.excludes,
    );
    if let Some(taken) = taken {
        // A plan of a snapshot says so wherever it is shown.
        made_from.snapshot = Some(taken);
        plan.made_from = Some(made_from.clone());
    }
    let mut shown = render(&plan, &review, args.format, args.show_unmanaged);
    if let Some(dir) = &args.pack {
        let section = pack_section(dir, &plan, settings, args.format == Format::Markdown)?;
        match args.format {
            Format::Json => settings
                .stderr()
                .write_all(settings.redact(&section).as_bytes())?,
            _ => shown.push_str(&section),
        }
    }
    // The file first: a reader that stops early (`| head`) loses no plan.
    if let Some(out) = &args.out {
        // Only the saved file says what it was made from (the endpoint and
        // the commit would make printed plans differ from run to run).
        let sandbox = made_from.sandbox;
        plan.made_from = Some(made_from);
        crate::fsio::write_file(out, &plan.to_json(&review), "the plan")?;
        // A sandbox is no site to pin dashboards of; a blocked plan is not
        // one to apply.
        if !sandbox && !plan.is_blocked() {
            super::lock::add_new_pins(settings, &loaded.desired, &live)?;
        }
    }
    settings
        .stdout()
        .write_all(settings.redact(&shown).as_bytes())?;
    Ok(if plan.is_blocked() {
        exit::BLOCKED
    } else if args.detailed_exitcode && !plan.is_empty() {
        exit::CHANGES
    } else {
        exit::OK
    })
}
