//! `review check`, `review propose`, `review verify`: reviewers' decisions
//! checked, turned into config edits, and proven in effect.

use std::io::Write as _;

use rolecall_core::review::decisions;

use super::{CheckArgs, VerifyArgs, checked, open, report};
use crate::error::{CliError, CliResult};
use crate::exit;
use crate::settings::Settings;

pub(crate) fn check(args: &CheckArgs, settings: &Settings) -> CliResult {
    let opened = open(&args.dir, settings)?;
    let (result, path) = checked(&opened, args, settings)?;
    report(&result, &path, settings)?;
    Ok(if result.problems.is_empty() {
        exit::OK
    } else {
        exit::CHANGES
    })
}

pub(crate) fn propose(args: &CheckArgs, settings: &Settings) -> CliResult {
    let opened = open(&args.dir, settings)?;
    let (result, path) = checked(&opened, args, settings)?;
    report(&result, &path, settings)?;
    if !result.problems.is_empty() {
        return Err(
            CliError::msg("the decisions do not pass `review check`; nothing was written")
                .with_hint("fix each line above, then propose again")
                .with_code(exit::CHANGES),
        );
    }
    let loaded = crate::planning::load_config_at(settings, &settings.config)?;
    if loaded.desired.site != opened.manifest.site {
        return Err(CliError::msg(format!(
            "the pack is of the site `{}`, the config of `{}`; nothing was written",
            rolecall_core::text::clean(&opened.manifest.site),
            loaded.desired.site
        )));
    }
    let verdicts = decisions::verdicts(&result.decisions);
    // `files:` says which file may hold users, and users given Admin.
    let root = crate::planning::config_root(settings);
    let may_hold = |path: &std::path::Path, admin: bool| -> bool {
        let Some(rules) = &loaded.desired.files else {
            return true;
        };
        let relative = path.strip_prefix(&root).unwrap_or(path);
        let (may, _) = rules.allowed(&relative.to_string_lossy().replace('\\', "/"));
        may.contains(&rolecall_core::config::model::May::Users)
            && (!admin || may.contains(&rolecall_core::config::model::May::Admin))
    };
    let proposal = rolecall_core::adopt::propose::propose(
        &loaded.desired,
        &loaded.sources,
        &opened.site,
        &verdicts,
        &may_hold,
    );
    let mut err = settings.stderr();
    for line in &proposal.left {
        writeln!(
            err,
            "no edit: {}",
            settings.redact(&rolecall_core::text::clean(line))
        )?;
    }
    if proposal.files.is_empty() {
        let said = if proposal.left.is_empty() {
            "nothing to propose: the config already says what was decided".to_string()
        } else {
            format!(
                "nothing written: {} above need a person",
                rolecall_core::plural(proposal.left.len(), "decision")
            )
        };
        writeln!(settings.stdout(), "{said}")?;
        return Ok(exit::OK);
    }
    loads_edited(&loaded, &proposal)?;
    crate::fsio::write_config_files(&proposal.files)?;
    let mut out = settings.stdout();
    for line in &proposal.done {
        writeln!(
            out,
            "proposed: {}",
            settings.redact(&rolecall_core::text::clean(line))
        )?;
    }
    writeln!(
        out,
        "wrote {}: review the diff, open a pull request, and plan it with `rolecall plan --pack {}`",
        rolecall_core::plural(proposal.files.len(), "config file"),
        rolecall_core::text::path(&args.dir)
    )?;
    Ok(exit::OK)
}

/// The edited config must load, or nothing is written.
fn loads_edited(
    loaded: &rolecall_core::config::load::Loaded,
    proposal: &rolecall_core::adopt::propose::Proposal,
) -> CliResult<()> {
    let texts: Vec<(std::path::PathBuf, String)> = (0..loaded.sources.len())
        .map(|i| {
            let f = loaded.sources.get(rolecall_core::diagnostic::FileId(i));
            (
                f.path.clone(),
                proposal
                    .files
                    .get(&f.path)
                    .cloned()
                    .unwrap_or_else(|| f.text.clone()),
            )
        })
        .chain(
            (proposal.files.iter())
                .filter(|(p, _)| {
                    !(0..loaded.sources.len()).any(|i| {
                        loaded.sources.path(rolecall_core::diagnostic::FileId(i)) == p.as_path()
                    })
                })
                .map(|(p, t)| (p.clone(), t.clone())),
        )
        .collect();
    if let Err(e) = rolecall_core::config::load::load_texts(texts) {
        return Err(CliError::msg(format!(
            "the proposed edits would not load ({}); nothing was written",
            e.diagnostics
                .first()
                .map_or_else(String::new, |d| d.message.clone())
        ))
        .with_hint("make the listed changes by hand"));
    }
    Ok(())
}

pub(crate) fn verify(args: &VerifyArgs, settings: &Settings) -> CliResult {
    let opened = open(&args.check.dir, settings)?;
    let (result, path) = checked(&opened, &args.check, settings)?;
    if !result.problems.is_empty() {
        report(&result, &path, settings)?;
        return Err(
            CliError::msg("the decisions do not pass `review check`: nothing to verify")
                .with_code(exit::CHANGES),
        );
    }
    let loaded = crate::planning::load_config_at(settings, &settings.config)?;
    let site = &opened.manifest.site;
    let live = match &args.from_snapshot {
        Some(p) => {
            let recorded = crate::snapshot::recorded(p, settings, site)?;
            // A snapshot from before the pack proves nothing about after it.
            if recorded.taken.at < opened.manifest.as_of {
                return Err(CliError::msg(format!(
                    "the snapshot was taken at {}, before the pack ({}): it cannot show the decisions carried out",
                    rolecall_core::text::clean(&recorded.taken.at),
                    rolecall_core::text::clean(&opened.manifest.as_of)
                ))
                .with_hint("verify from the site, or from a snapshot taken after the apply"));
            }
            recorded.live
        }
        None => {
            let conn = crate::connect::connect(settings, &args.site, site)?;
            crate::connect::fetch(settings, &conn)?
        }
    };
    let proofs = decisions::verify(&result.decisions, &live, &loaded.desired);
    let mut out = settings.stdout();
    let failed = proofs.iter().filter(|p| !p.holds).count();
    for p in &proofs {
        let mark = if p.holds {
            "in effect"
        } else {
            "NOT in effect"
        };
        writeln!(
            out,
            "{mark}: {}",
            settings.redact(&rolecall_core::text::clean(&p.text))
        )?;
    }
    let revokes = proofs
        .iter()
        .filter(|p| p.decision.word == decisions::Word::Revoke)
        .count();
    writeln!(
        out,
        "{} of {} decisions in effect ({} revokes, {} exceptions)",
        proofs.len() - failed,
        proofs.len(),
        revokes,
        proofs.len() - revokes
    )?;
    Ok(if failed == 0 { exit::OK } else { exit::CHANGES })
}
