//! `rolecall access`: who can do what on which dashboard, and through which
//! roles.

use std::collections::BTreeSet;
use std::io::Write as _;

use clap::{Args, ValueEnum};
use rolecall_core::Desired;
use rolecall_core::access::{
    Entry, Evaluator, Format, Model, Query, QueryError, Report, Row, query, rows, with_ends,
};
use rolecall_core::config::vocab;
use rolecall_core::live::Live;
use rolecall_core::plan::Selection;
use rolecall_core::text::clean;

use crate::connect::SiteArgs;
use crate::error::{CliError, CliResult};
use crate::exit;
use crate::settings::Settings;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AccessFormat {
    Text,
    Json,
    Csv,
    Markdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModelArg {
    /// A privilege from one role and a grant from another combine.
    CrossRole,
    /// One role must give both.
    SameRole,
}

#[derive(Debug, Args)]
#[command(
    after_help = "A user has action A on dashboard D when a role of theirs gives privilege \
A and a role of theirs grants A on D (`--model cross-role`, the default), or when one role gives \
both (`--model same-role`, the stricter reading: the vendor does not document which holds). Admin \
can do everything; every user is in Everyone. Every output names the model.

Examples:
  rolecall access --dashboard 'Revenue Overview'
  rolecall access --user jane@acme.com --format csv
  rolecall access --role Viewer --action download_pdf
  rolecall access --desired --dashboard '#4711'"
)]
pub struct AccessArgs {
    /// Only this user.
    #[arg(long, value_name = "EMAIL")]
    pub user: Option<String>,
    /// Only this dashboard: its name, or `#ID`.
    #[arg(long, value_name = "NAME|#ID")]
    pub dashboard: Option<String>,
    /// Only the members of this role.
    #[arg(long, value_name = "NAME")]
    pub role: Option<String>,
    /// Only this action.
    #[arg(long, value_name = "ACTION")]
    pub action: Option<String>,
    /// Evaluate the config (against the live dashboards) instead of the live site.
    #[arg(long)]
    pub desired: bool,
    /// How privileges and grants combine.
    #[arg(long, value_enum, default_value = "cross-role")]
    pub model: ModelArg,
    #[arg(long, value_enum, default_value = "text")]
    pub format: AccessFormat,
    /// List admins' access in full in json and csv (else they are summarised).
    #[arg(long)]
    pub expand_admins: bool,
    /// Evaluate this snapshot instead of reading the site (no key).
    #[arg(long, value_name = "FILE", conflicts_with = "sandbox")]
    pub from_snapshot: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub site: SiteArgs,
}

/// The live site, or the site as the config would make it (with the
/// config, for the memberships' ends).
fn source(args: &AccessArgs, settings: &Settings) -> CliResult<(String, Live, Option<Desired>)> {
    if !args.desired {
        if let Some(path) = &args.from_snapshot {
            let recorded = crate::snapshot::of_any_site(path, settings)?;
            return Ok((recorded.site, recorded.live, None));
        }
        let conn = crate::connect::connect_any(settings, &args.site)?;
        let live = crate::connect::fetch(settings, &conn)?;
        return Ok((conn.reader.site().to_string(), live, None));
    }
    let loaded = crate::planning::load_config(settings)?;
    let live = match &args.from_snapshot {
        Some(path) => crate::snapshot::recorded(path, settings, &loaded.desired.site)?.live,
        None => {
            let conn = crate::connect::connect(settings, &args.site, &loaded.desired.site)?;
            crate::connect::fetch(settings, &conn)?
        }
    };
    let (plan, _) = crate::planning::plan(settings, &loaded, &live, &Selection::default())?;
    Ok((
        loaded.desired.site.clone(),
        rolecall_core::plan::simulate(&live, &plan),
        Some(loaded.desired),
    ))
}

/// What `--user`, `--dashboard`, `--role` and `--action` ask, evaluated;
/// a name the site does not have is an error with a hint.
fn entries(args: &AccessArgs, live: &Live, evaluator: &Evaluator<'_>) -> CliResult<Vec<Entry>> {
    query(live, evaluator, &query_of(args)).map_err(query_error)
}

fn query_of(args: &AccessArgs) -> Query<'_> {
    Query {
        user: args.user.as_deref(),
        dashboard: args.dashboard.as_deref(),
        role: args.role.as_deref(),
        action: args.action.as_deref(),
    }
}

/// A name the site does not have, with a hint.
fn query_error(e: QueryError) -> CliError {
    let hint = match &e {
        QueryError::NoDashboardId(_) => "the id is the number in the dashboard's URL".to_string(),
        QueryError::NoDashboardNamed { like: Some(m), .. } => format!("did you mean `{m}`?"),
        QueryError::NoDashboardNamed { like: None, .. } => {
            "check the name, or give the id: `--dashboard '#4711'`".to_string()
        }
        QueryError::NoUser(_) => {
            "check the email; `rolecall export` lists every user of the site".to_string()
        }
        QueryError::NoRole(_) => {
            "role names are compared case-insensitively; check the spelling".to_string()
        }
    };
    CliError::msg(e.to_string()).with_hint(hint)
}

/// The CSV report, streamed: memory holds one user's rows at a time (the
/// same rows `review pack --effective` writes).
fn csv(
    args: &AccessArgs,
    settings: &Settings,
    live: &Live,
    evaluator: &Evaluator<'_>,
) -> CliResult {
    let stdout = std::io::stdout();
    let out = crate::output::RedactLines::new(
        settings,
        std::io::BufWriter::with_capacity(1 << 16, stdout.lock()),
    );
    match rolecall_core::access::write_csv(
        live,
        evaluator,
        &query_of(args),
        args.expand_admins,
        out,
    ) {
        Ok(_) => Ok(exit::OK),
        Err(rolecall_core::access::StreamError::Query(e)) => Err(query_error(e)),
        Err(rolecall_core::access::StreamError::Io(e))
            if e.kind() == std::io::ErrorKind::BrokenPipe =>
        {
            Ok(exit::OK)
        }
        Err(rolecall_core::access::StreamError::Io(e)) => Err(e.into()),
    }
}

/// `--action` names an action of the API, checked before the site is read.
fn check_action(args: &AccessArgs) -> CliResult<()> {
    let Some(action) = &args.action else {
        return Ok(());
    };
    if vocab::ACTIONS.contains(&action.as_str()) {
        return Ok(());
    }
    let hint = rolecall_core::diagnostic::did_you_mean(action, vocab::ACTIONS.iter().copied())
        .map_or_else(
            || format!("the actions are: {}", vocab::ACTIONS.join(", ")),
            |m| format!("did you mean `{m}`?"),
        );
    Err(CliError::msg(format!("`{}` is not an action", clean(action))).with_hint(hint))
}

pub(crate) fn run(args: &AccessArgs, settings: &Settings) -> CliResult {
    check_action(args)?;
    let (site_name, live, desired) = source(args, settings)?;
    let model = match args.model {
        ModelArg::CrossRole => Model::CrossRole,
        ModelArg::SameRole => Model::SameRole,
    };
    let evaluator = Evaluator::new(&live, model);
    if args.format == AccessFormat::Csv {
        return csv(args, settings, &live, &evaluator);
    }
    let mut all = rows(&entries(args, &live, &evaluator)?);
    if let Some(desired) = &desired {
        with_ends(&mut all, desired);
    }
    let admins: BTreeSet<String> = all
        .iter()
        .filter(|r| r.admin)
        .map(|r| r.user.clone())
        .collect();
    let shown: Vec<&Row> = all
        .iter()
        .filter(|r| {
            !r.admin
                || (args.expand_admins
                    && matches!(args.format, AccessFormat::Json | AccessFormat::Csv))
        })
        .collect();
    let report = Report {
        site: &site_name,
        source: if args.desired { "desired" } else { "live" },
        model,
        rows: shown,
        admins,
        kept: rolecall_core::plan::KeptRights::of(&live),
    };
    let text = report.render(match args.format {
        AccessFormat::Json => Format::Json,
        AccessFormat::Csv => Format::Csv,
        AccessFormat::Text => Format::Text,
        AccessFormat::Markdown => Format::Markdown,
    });
    settings
        .stdout()
        .write_all(settings.redact(&text).as_bytes())?;
    Ok(exit::OK)
}
