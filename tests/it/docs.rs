//! Docs that run: every command line of the README and the guide is parsed
//! by the real command line (its clap definition), so that a flag, a value
//! or a command the CLI does not have cannot stay in the docs. A synopsis
//! (`rolecall plan [--out FILE] [--format text|json]`) has each of its flags
//! and literal values checked; a command line is parsed whole. The README's
//! quick start is run by `examples.rs`; the lifecycle the guide walks is run
//! over HTTP by `lifecycle.rs`.

use clap::Command;

use crate::root;

/// The docs whose command lines are checked.
const DOCS: &[&str] = &[
    "README.md",
    "docs/guide.md",
    "docs/security.md",
    "docs/periscope-api.md",
    "crates/README.md",
    "examples/gitops/README.md",
];

/// Flags the docs name that are other programs': `install.sh`'s, cargo's.
const NOT_ROLECALL: &[&str] = &["--to", "--cache", "--no-default-features", "--locked"];

/// A command line found in a doc: where, and its text after `rolecall`.
#[derive(Debug)]
struct Found {
    at: String,
    text: String,
    /// In a sentence (a code span), where a command may be named without
    /// the values it needs: `rolecall emulator --seed`.
    prose: bool,
}

/// The text after `rolecall ` (or `cargo run --locked -- `) of a line, if
/// it is a command line.
fn after_program(line: &str) -> Option<&str> {
    let line = line.trim().trim_start_matches("$ ");
    ["rolecall ", "cargo run --locked -- ", "cargo run -- "]
        .iter()
        .find_map(|p| line.strip_prefix(p))
}

/// Every command line of a doc: lines of code blocks, and code spans.
fn command_lines(doc: &str) -> Vec<Found> {
    let text = std::fs::read_to_string(root().join(doc)).unwrap();
    let mut out = Vec::new();
    let mut fence: Option<String> = None;
    for (n, line) in text.lines().enumerate() {
        let at = format!("{doc}:{}", n + 1);
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix("```") {
            fence = match fence {
                Some(_) => None,
                None => Some(rest.trim().to_string()),
            };
            continue;
        }
        match &fence {
            // Shell blocks (and blocks that say nothing): their lines.
            Some(lang) if matches!(lang.as_str(), "" | "sh" | "bash" | "console" | "shell") => {
                if let Some(text) = after_program(line) {
                    out.push(Found {
                        at,
                        text: text.to_string(),
                        prose: false,
                    });
                }
            }
            Some(_) => {}
            // Prose: code spans that start with `rolecall `.
            None => {
                let mut rest = line;
                while let Some(start) = rest.find('`') {
                    let after = &rest[start + 1..];
                    let Some(end) = after.find('`') else { break };
                    let span = after[..end].replace("\\|", "|");
                    if let Some(text) = after_program(&span) {
                        out.push(Found {
                            at: at.clone(),
                            text: text.to_string(),
                            prose: true,
                        });
                    } else if span.starts_with("--")
                        && span[2..].starts_with(|c: char| c.is_ascii_alphanumeric())
                        && span.split_whitespace().count() <= 2
                        && !NOT_ROLECALL
                            .contains(&span.split_whitespace().next().unwrap_or_default())
                    {
                        // A flag named in a sentence: some command has it.
                        out.push(Found {
                            at: at.clone(),
                            text: format!("* {span}"),
                            prose: true,
                        });
                    }
                    rest = &after[end + 1..];
                }
            }
        }
    }
    out
}

/// The command line without what the shell does around it: a comment, a
/// pipe, a redirection.
fn shell_words(text: &str) -> Vec<String> {
    let words =
        shlex::split(text).unwrap_or_else(|| text.split_whitespace().map(String::from).collect());
    words
        .into_iter()
        .take_while(|w| !matches!(w.as_str(), "#" | "|" | ">" | "2>" | "<" | "&&" | ";" | ">>"))
        .filter(|w| !w.starts_with('#'))
        .collect()
}

/// A synopsis rather than a command line: optional parts, alternatives,
/// ellipses.
fn is_synopsis(text: &str) -> bool {
    text.contains('[') || text.contains('…') || text.contains("...") || text.contains(" | ")
}

/// The commands a synopsis may be of: its first word's, or (`* --flag`, a
/// flag named in a sentence) every command's.
fn commands_of<'c>(cli: &'c Command, name: &str) -> Option<Vec<&'c Command>> {
    if name == "*" {
        return Some(std::iter::once(cli).chain(cli.get_subcommands()).collect());
    }
    if name.starts_with('-') {
        return Some(vec![cli]);
    }
    cli.find_subcommand(name).map(|c| vec![c])
}

/// The subcommand a synopsis is of (its first word), and its flags with
/// the literal values written after them.
fn check_synopsis(cli: &Command, found: &Found) -> Result<(), String> {
    let name = found.text.split_whitespace().next().unwrap_or_default();
    let Some(mut commands) = commands_of(cli, name) else {
        return Err(format!("no command `{name}`"));
    };
    // `review pack [...]`: the flags are the nested command's.
    if let (Some(second), [one]) = (found.text.split_whitespace().nth(1), &commands[..])
        && let Some(nested) = one.find_subcommand(second)
    {
        commands = vec![nested];
    }
    let tokens: Vec<&str> = found
        .text
        .split(|c: char| c.is_whitespace() || matches!(c, '[' | ']' | '(' | ')' | ','))
        .filter(|t| !t.is_empty())
        .collect();
    // The flags the last flag token named (a value after them is theirs).
    let mut last: Vec<&clap::Arg> = Vec::new();
    for token in tokens {
        let parts: Vec<&str> = token.split('|').filter(|p| !p.is_empty()).collect();
        if parts.first().is_some_and(|p| p.starts_with("--")) {
            last.clear();
            for part in parts.iter().filter(|p| p.starts_with("--")) {
                let long = part[2..].split('=').next().unwrap_or_default();
                let args: Vec<&clap::Arg> = (commands.iter())
                    .flat_map(|c| c.get_arguments().chain(cli.get_arguments()))
                    .filter(|a| a.get_long() == Some(long))
                    .collect();
                if args.is_empty() {
                    return Err(format!("`{name}` has no flag `--{long}`"));
                }
                last = args;
            }
            continue;
        }
        // `--format text|json|markdown`: each literal value must be one.
        let takes = std::mem::take(&mut last);
        let with_values: Vec<_> = takes
            .iter()
            .map(|a| a.get_possible_values())
            .filter(|v| !v.is_empty())
            .collect();
        if with_values.is_empty() {
            continue;
        }
        for value in parts {
            let literal = !value.starts_with('-')
                && value
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            if literal
                && !with_values
                    .iter()
                    .any(|values| values.iter().any(|p| p.matches(value, false)))
            {
                return Err(format!(
                    "`--{}` does not take `{value}`",
                    takes[0].get_long().unwrap_or_default()
                ));
            }
        }
    }
    Ok(())
}

/// A command line parsed whole by the real command line.
fn check_line(cli: &Command, found: &Found) -> Result<(), String> {
    let words = shell_words(&found.text);
    let args = std::iter::once("rolecall".to_string()).chain(words);
    match cli.clone().try_get_matches_from(args) {
        Ok(_) => Ok(()),
        Err(e)
            if matches!(
                e.kind(),
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion
            ) =>
        {
            Ok(())
        }
        // A sentence names a command or a flag without its values.
        Err(e)
            if found.prose
                && (e.kind() == clap::error::ErrorKind::MissingRequiredArgument
                    || e.to_string().contains("a value is required")) =>
        {
            Ok(())
        }
        // A placeholder (`SHELL`, `PLANFILE`) where a value goes.
        Err(e)
            if e.kind() == clap::error::ErrorKind::InvalidValue
                && shell_words(&found.text).iter().any(|w| {
                    w.len() > 1
                        && w.chars()
                            .all(|c| c.is_ascii_uppercase() || matches!(c, '_' | '.'))
                        && e.to_string().contains(&format!("'{w}'"))
                }) =>
        {
            Ok(())
        }
        Err(e) => Err(e.to_string().lines().next().unwrap_or_default().to_string()),
    }
}

#[test]
fn every_command_line_of_the_docs_parses() {
    let cli = rolecall_cli::command();
    let mut checked = 0;
    let mut wrong = Vec::new();
    for doc in DOCS {
        for found in command_lines(doc) {
            checked += 1;
            let result = if is_synopsis(&found.text) || found.text.starts_with("* ") {
                check_synopsis(&cli, &found)
            } else {
                check_line(&cli, &found)
            };
            if let Err(why) = result {
                wrong.push(format!("{}: `rolecall {}`: {why}", found.at, found.text));
            }
        }
    }
    assert!(checked > 50, "only {checked} command lines found");
    assert!(
        wrong.is_empty(),
        "{} of {checked}:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// The harness itself: a flag the CLI does not have, a value it does not
/// take, a command it does not know are each caught.
#[test]
fn the_docs_check_catches_what_the_cli_does_not_have() {
    let cli = rolecall_cli::command();
    let found = |text: &str| Found {
        at: "test".into(),
        text: text.into(),
        prose: false,
    };
    assert!(check_line(&cli, &found("plan --out plan.json")).is_ok());
    assert!(check_line(&cli, &found("plan --no-such-flag")).is_err());
    assert!(check_line(&cli, &found("emulator --quirk delete-200")).is_ok());
    assert!(check_line(&cli, &found("emulator --quirk delete-2000")).is_err());
    assert!(check_synopsis(&cli, &found("drift [--fail-on critical|high|any]")).is_ok());
    assert!(check_synopsis(&cli, &found("drift [--fail-on critical|severe]")).is_err());
    assert!(check_synopsis(&cli, &found("lock [--check|--update] [--repin NAME]")).is_ok());
    assert!(check_synopsis(&cli, &found("frobnicate [--x]")).is_err());
    assert!(check_synopsis(&cli, &found("* --quirk delete-200")).is_ok());
    assert!(check_synopsis(&cli, &found("* --quirk delete-2000")).is_err());
    assert!(check_synopsis(&cli, &found("* --no-such-flag")).is_err());
    assert!(check_line(&cli, &found("plan --format json | jq .  # a comment")).is_ok());
}

/// `rolecall emulator --help` shows the emulator's flags, none of the
/// client's that would do nothing there.
#[test]
fn the_emulator_help_shows_only_its_own_flags() {
    let help = crate::rolecall(&root(), &["emulator", "--help"]);
    let text = String::from_utf8_lossy(&help.stdout);
    for client in [
        "--endpoint",
        "--api-key-file",
        "--timeout",
        "--max-pages",
        "--config",
    ] {
        assert!(!text.contains(client), "{client} in:\n{text}");
    }
    for own in ["--port", "--seed", "--quirk", "--rate-limit", "--site"] {
        assert!(text.contains(own), "{own} missing from:\n{text}");
    }
}
