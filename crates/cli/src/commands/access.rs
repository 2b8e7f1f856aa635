//! `rolecall access`: who can do what on which dashboard, and through which
//! roles.

use std::collections::BTreeSet;
use std::io::Write as _;

use clap::{Args, ValueEnum};
use rolecall_core::Desired;
use rolecall_core::access::{Entry, Evaluator, Format, Model, Report, Row, rows};
use rolecall_core::config::vocab::{self, key};
use rolecall_core::live::{Live, LiveUser};
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
    #[command(flatten)]
    pub site: SiteArgs,
}

/// The live site, or the site as the config would make it (with the
/// config, for the memberships' ends).
fn source(args: &AccessArgs, settings: &Settings) -> CliResult<(String, Live, Option<Desired>)> {
    if !args.desired {
        let conn = crate::connect::connect_any(settings, &args.site)?;
        let live = crate::connect::fetch(settings, &conn)?;
        return Ok((conn.reader.site().to_string(), live, None));
    }
    let loaded = crate::planning::load_config(settings)?;
    let conn = crate::connect::connect(settings, &args.site, &loaded.desired.site)?;
    let live = crate::connect::fetch(settings, &conn)?;
    let (plan, _) = crate::planning::plan(settings, &loaded, &live, &Selection::default())?;
    Ok((
        loaded.desired.site.clone(),
        rolecall_core::plan::simulate(&live, &plan),
        Some(loaded.desired),
    ))
}

/// Each role's `until` for the row's user, as the config gives it.
fn ends(rows: &mut [Row], desired: &Desired) {
    for row in rows {
        let Some(user) = desired.users.get(&key(&row.user)) else {
            continue;
        };
        for via in &mut row.via {
            via.until = user
                .roles
                .get(&key(&via.role))
                .and_then(|r| r.until)
                .map(|d| d.to_string());
        }
    }
}

/// The site's dashboards.
fn dashboards_of(live: &Live) -> impl Iterator<Item = &rolecall_core::live::LiveObject> {
    live.objects_of(rolecall_core::kinds::ObjectKind::Dashboard)
}

/// The dashboard ids `--dashboard` names.
fn dashboards(live: &Live, wanted: &str) -> CliResult<Vec<String>> {
    if let Some(id) = wanted.strip_prefix('#') {
        if dashboards_of(live).any(|d| d.id == id) {
            return Ok(vec![id.to_string()]);
        }
        return Err(
            CliError::msg(format!("no dashboard on the site has the id `{id}`"))
                .with_hint("the id is the number in the dashboard's URL"),
        );
    }
    let ids: Vec<String> = dashboards_of(live)
        .filter(|d| d.name == wanted)
        .map(|d| d.id.clone())
        .collect();
    if ids.is_empty() {
        let names: Vec<&str> = dashboards_of(live).map(|d| d.name.as_str()).collect();
        let hint = rolecall_core::diagnostic::did_you_mean(wanted, names).map_or_else(
            || "check the name, or give the id: `--dashboard '#4711'`".to_string(),
            |m| format!("did you mean `{m}`?"),
        );
        return Err(
            CliError::msg(format!("no dashboard on the site is named `{wanted}`")).with_hint(hint),
        );
    }
    Ok(ids)
}

/// The users asked about.
fn users<'l>(live: &'l Live, args: &AccessArgs) -> CliResult<Vec<&'l LiveUser>> {
    let mut users: Vec<&LiveUser> = live.users.iter().collect();
    if let Some(email) = &args.user {
        users.retain(|u| key(&u.email) == key(email));
        if users.is_empty() {
            return Err(CliError::msg(format!("no user on the site is `{email}`"))
                .with_hint("check the email; `rolecall export` lists every user of the site"));
        }
    }
    if let Some(name) = &args.role {
        let role = live
            .roles
            .iter()
            .find(|r| key(&r.name) == key(name))
            .ok_or_else(|| {
                CliError::msg(format!("no role on the site is named `{name}`"))
                    .with_hint("role names are compared case-insensitively; check the spelling")
            })?;
        users.retain(|u| u.roles.contains(&role.id));
    }
    users.sort_by_key(|u| key(&u.email));
    Ok(users)
}

fn entries(args: &AccessArgs, live: &Live, evaluator: &Evaluator<'_>) -> CliResult<Vec<Entry>> {
    let only = args
        .dashboard
        .as_deref()
        .map(|d| dashboards(live, d))
        .transpose()?;
    let mut out = Vec::new();
    for user in users(live, args)? {
        match &only {
            None => out.extend(evaluator.user(user, None)),
            Some(ids) => {
                for id in ids {
                    out.extend(evaluator.user(user, Some(id)));
                }
            }
        }
    }
    if let Some(action) = &args.action {
        out.retain(|e| &e.action == action);
    }
    Ok(out)
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

pub fn run(args: &AccessArgs, settings: &Settings) -> CliResult {
    check_action(args)?;
    let (site_name, live, desired) = source(args, settings)?;
    let model = match args.model {
        ModelArg::CrossRole => Model::CrossRole,
        ModelArg::SameRole => Model::SameRole,
    };
    let evaluator = Evaluator::new(&live, model);
    let mut all = rows(&entries(args, &live, &evaluator)?);
    if let Some(desired) = &desired {
        ends(&mut all, desired);
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
