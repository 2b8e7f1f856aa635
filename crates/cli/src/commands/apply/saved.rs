//! `apply PLANFILE`: a saved plan is carried out only if planning again
//! now, from the config on disk and the site as it is, gives the reviewed
//! plan change for change (see `rolecall_core::pipeline::saved`). Whatever the file
//! says, what runs is what the config and the site give.

use std::path::Path;

use rolecall_core::config::load::Loaded;
use rolecall_core::live::Live;
use rolecall_core::pipeline::saved::{self, Now, Refusal};
use rolecall_core::plan::{FORMAT_VERSION, MadeFrom, Plan, PlanFileError, Review};

use crate::connect::Connection;
use crate::error::{CliError, CliResult};
use crate::exit;

const REPLAN: &str =
    "make the plan again (`rolecall plan --out PLANFILE`), review it, and apply that";

/// Reads a plan file strictly, no further than `limit` bytes (a plan may
/// have travelled as a CI artifact: it is input like any other).
pub(crate) fn read(path: &Path, limit: usize) -> CliResult<(Plan, Review)> {
    let text = crate::fsio::read_bounded(path, limit, "`--max-snapshot-size`")?;
    Plan::from_json(&text).map_err(|e| {
        let what = match &e {
            PlanFileError::Version { found } => format!(
                "`{}` is a plan of format {found}; this rolecall reads format {FORMAT_VERSION}",
                path.display()
            ),
            PlanFileError::Edited(why) => format!(
                "`{}` was edited ({why}); nothing was written",
                path.display()
            ),
            PlanFileError::Invalid(e) => format!(
                "`{}` is not a plan saved by `rolecall plan --out`: {e}",
                path.display()
            ),
        };
        CliError::msg(what).with_hint(REPLAN)
    })
}

/// The checks that need no site: the plan says what it was made from, the
/// config is that config, for that site.
pub(crate) fn check_config<'p>(saved: &'p Plan, loaded: &Loaded) -> CliResult<&'p MadeFrom> {
    let Some(made_from) = &saved.made_from else {
        return Err(CliError::msg(
            "the plan file does not say what it was made from; nothing was written",
        )
        .with_hint("apply a plan saved with `rolecall plan --out PLANFILE`"));
    };
    if loaded.desired.site != saved.site {
        return Err(CliError::msg(format!(
            "the plan is for the site `{}` but the config for `{}`; nothing was written",
            saved.site, loaded.desired.site
        ))
        .with_hint("point `-f` at the config the plan was made from"));
    }
    Ok(made_from)
}

/// A plan made against a sandbox is never applied to a real site, nor one
/// made against another endpoint.
pub(crate) fn check_endpoint(made_from: &MadeFrom, conn: &Connection) -> CliResult<()> {
    let now = &conn.config.endpoint;
    let refusal = match (made_from.sandbox, conn.is_sandbox()) {
        (true, false) => format!(
            "the plan was made against a sandbox; it is not applied to `{now}`; nothing was written"
        ),
        (false, true) => format!(
            "the plan was made against `{}`; it is not applied to a sandbox; nothing was written",
            made_from.endpoint
        ),
        (false, false) if made_from.endpoint != *now => format!(
            "the plan was made against `{}`, not `{now}`; nothing was written",
            made_from.endpoint
        ),
        _ => return Ok(()),
    };
    Err(CliError::msg(refusal).with_hint(REPLAN))
}

/// Compares the saved plan with the plan made now (`fresh`): stale (exit
/// 5) when the site or the config moved under a change, edited (exit 1)
/// when neither explains a difference.
pub(crate) fn check_plan(
    saved: (&Plan, &Review),
    fresh: (&Plan, &Review),
    loaded: &Loaded,
    live: &Live,
) -> CliResult<()> {
    let now = Now {
        desired: &loaded.desired,
        sources: &loaded.sources,
        live,
    };
    match saved::compare(saved, fresh, &now) {
        Ok(()) => Ok(()),
        Err(Refusal::Unjudgeable) => Err(CliError::msg(
            "the plan was made by an older rolecall, which did not record the config entries it was made from; nothing was written",
        )
        .with_hint(REPLAN)
        .with_code(exit::STALE)),
        Err(Refusal::Stale(stale)) => {
            let lines: Vec<String> = stale.iter().map(ToString::to_string).collect();
            let err = CliError::msg(format!(
                "the plan is stale: the site or the config changed under its changes since it was made; nothing was written:\n{}",
                list(&lines)
            ))
            .with_hint(REPLAN);
            Err(err.with_code(exit::STALE))
        }
        Err(Refusal::Edited(lines)) => {
            Err(CliError::msg(format!(
                "the plan file does not hold the plan of its config and site: it was edited; nothing was written:\n{}",
                list(&lines)
            ))
            .with_hint(REPLAN))
        }
    }
}

fn list(lines: &[String]) -> String {
    lines
        .iter()
        .map(|l| format!("  - {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}
