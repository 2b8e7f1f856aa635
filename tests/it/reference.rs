//! `docs/reference.md` is generated from the command line's definition
//! (clap): every command, every flag, its default, its help. This test
//! regenerates it and fails when the file differs, so a flag added without
//! `ROLECALL_BLESS=1 cargo test --test it reference` is caught.

use std::fmt::Write as _;

use clap::{Arg, ArgAction, Command};

use crate::root;

/// `--flag VALUE` or `-f, --flag VALUE` or `ARG`, as a reader types it.
fn spelling(arg: &Arg) -> String {
    let value = arg
        .get_value_names()
        .map(|v| {
            v.iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .filter(|_| matches!(arg.get_action(), ArgAction::Set | ArgAction::Append));
    let mut out = match (arg.get_short(), arg.get_long()) {
        (Some(s), Some(l)) => format!("-{s}, --{l}"),
        (None, Some(l)) => format!("--{l}"),
        (Some(s), None) => format!("-{s}"),
        (None, None) => value
            .clone()
            .unwrap_or_else(|| arg.get_id().to_string().to_uppercase()),
    };
    if (arg.get_long().is_some() || arg.get_short().is_some())
        && let Some(v) = value
    {
        let _ = write!(out, " {v}");
    }
    out
}

/// One table row: the flag, its default and environment variable, its help
/// on one line (`|` escaped).
fn row(arg: &Arg) -> String {
    let help = arg
        .get_long_help()
        .or(arg.get_help())
        .map(|h| h.to_string())
        .unwrap_or_default()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|");
    let mut notes = Vec::new();
    let defaults: Vec<String> = arg
        .get_default_values()
        .iter()
        .map(|d| d.to_string_lossy().into_owned())
        .collect();
    if !defaults.is_empty() && arg.get_action().takes_values() {
        notes.push(format!("default `{}`", defaults.join(" ")));
    }
    if let Some(env) = arg.get_env() {
        notes.push(format!("env `{}`", env.to_string_lossy()));
    }
    let possible: Vec<String> = arg
        .get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| v.get_name().to_string())
        .collect();
    if !possible.is_empty() && arg.get_action().takes_values() {
        notes.push(format!("one of `{}`", possible.join("`, `")));
    }
    let notes = if notes.is_empty() {
        String::new()
    } else {
        format!(" ({})", notes.join("; "))
    };
    format!(
        "| `{}` | {help}{notes} |\n",
        spelling(arg).replace('|', "\\|")
    )
}

fn table(out: &mut String, args: &[&Arg]) {
    if args.is_empty() {
        return;
    }
    out.push_str("| flag | what |\n|---|---|\n");
    for arg in args {
        out.push_str(&row(arg));
    }
    out.push('\n');
}

fn text(s: Option<&clap::builder::StyledStr>) -> String {
    s.map(|s| s.to_string())
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// A command's section, and its own commands' after it.
fn section(out: &mut String, parent: &str, sub: &Command) {
    let name = format!("{parent} {}", sub.get_name());
    let _ = writeln!(out, "## `{name}`\n");
    let _ = writeln!(out, "{}\n", text(sub.get_long_about().or(sub.get_about())));
    let positional: Vec<&Arg> = sub.get_positionals().filter(|a| !a.is_hide_set()).collect();
    let flags: Vec<&Arg> = sub
        .get_arguments()
        .filter(|a| !a.is_positional() && !a.is_global_set() && !a.is_hide_set())
        .filter(|a| a.get_long() != Some("help") && a.get_long() != Some("version"))
        .collect();
    if !positional.is_empty() || !flags.is_empty() {
        table(out, &[positional, flags].concat());
    }
    let after = text(sub.get_after_long_help().or(sub.get_after_help()));
    if !after.is_empty() {
        let _ = writeln!(out, "```text\n{after}\n```\n");
    }
    for nested in sub.get_subcommands().filter(|s| s.get_name() != "help") {
        section(out, &name, nested);
    }
}

/// The reference page.
fn reference() -> String {
    let mut cli: Command = rolecall_cli::command();
    cli.build();
    let mut out = String::from(
        "# Command-line reference\n\n\
         Generated from rolecall's command-line definition by `ROLECALL_BLESS=1 cargo test \
         --test it reference` (a test fails when it is out of date). For what the commands \
         are for, see the [README](../README.md).\n\n",
    );
    let _ = writeln!(out, "{}\n", text(cli.get_long_about().or(cli.get_about())));
    out.push_str("## Flags of every command\n\nThey go before or after the command name.\n\n");
    let global: Vec<&Arg> = cli
        .get_arguments()
        .filter(|a| {
            !a.is_hide_set() && a.get_long() != Some("help") && a.get_long() != Some("version")
        })
        .collect();
    table(&mut out, &global);
    let _ = writeln!(out, "{}\n", text(cli.get_after_help()));
    for sub in cli.get_subcommands().filter(|s| s.get_name() != "help") {
        section(&mut out, "rolecall", sub);
    }
    out.trim_end().to_string() + "\n"
}

#[test]
fn the_reference_is_the_command_lines_own() {
    let path = root().join("docs/reference.md");
    let now = reference();
    if std::env::var_os("ROLECALL_BLESS").is_some() {
        std::fs::write(&path, &now).unwrap();
        return;
    }
    let written = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        written == now,
        "docs/reference.md is out of date with the command line: run `ROLECALL_BLESS=1 cargo test --test it reference` and commit it"
    );
}
