//! `schema`, `completions`, help and global flags.

use crate::{rolecall, root, transcript};

#[test]
fn the_committed_schema_is_what_rolecall_schema_prints() {
    let output = rolecall(&root(), &["schema"]);
    assert_eq!(output.status.code(), Some(0));
    let committed = std::fs::read_to_string(root().join("schema/rolecall.schema.json")).unwrap();
    assert!(
        String::from_utf8_lossy(&output.stdout) == committed,
        "schema/rolecall.schema.json is stale: run `cargo run -- schema > schema/rolecall.schema.json`"
    );
    let schema: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let actions = &schema["definitions"]["Action"]["enum"];
    assert_eq!(
        actions.as_array().unwrap().len(),
        rolecall_core::config::vocab::ACTIONS.len()
    );
}

#[test]
fn completions_for_every_shell() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let output = rolecall(&root(), &["completions", shell]);
        assert_eq!(output.status.code(), Some(0), "{shell}");
        let script = String::from_utf8_lossy(&output.stdout);
        assert!(script.contains("validate"), "{shell} completes subcommands");
    }
    let bad = rolecall(&root(), &["completions", "tcsh"]);
    assert_eq!(
        bad.status.code(),
        Some(1),
        "clap rejects an unknown shell: a usage error exits 1"
    );
}

#[test]
fn global_flags_go_before_or_after_the_command() {
    let before = rolecall(&root(), &["-f", "examples/data-org", "validate"]);
    let after = rolecall(&root(), &["validate", "-f", "examples/data-org"]);
    assert_eq!(before.stdout, after.stdout);
    assert_eq!(before.status.code(), Some(0), "{}", transcript(&before));
}

/// A number out of range is a usage error naming the range (exit 1), never
/// a panic (exit 101): each numeric flag is bounded.
#[test]
fn numeric_flags_out_of_range_are_usage_errors() {
    let cases: [(&[&str], &str); 7] = [
        (&["plan", "--rate-limit", "1e300"], "0.01 to 100000"),
        (&["plan", "--rate-limit", "1e-300"], "0.01 to 100000"),
        (&["plan", "--rate-limit", "NaN"], "not a rate"),
        (&["plan", "--retry-budget", "500000000y"], "a week"),
        (&["plan", "--max-pages", "0"], "0"),
        (
            &["emulator", "--latency", "99999999999"],
            "60000 ms at most",
        ),
        (&["emulator", "--page-size", "0"], "0"),
    ];
    for (args, says) in cases {
        let out = rolecall(&root(), args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", transcript(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}

/// Every command of the command line.
const COMMANDS: [&str; 13] = [
    "validate",
    "schema",
    "completions",
    "plan",
    "apply",
    "show",
    "drift",
    "access",
    "lock",
    "export",
    "import-csv",
    "emulator",
    "review",
];

/// The commands under a command.
const NESTED: [&str; 4] = [
    "review pack",
    "review check",
    "review propose",
    "review verify",
];

#[test]
fn help_lists_the_commands() {
    let output = rolecall(&root(), &["--help"]);
    let help = String::from_utf8_lossy(&output.stdout);
    for command in COMMANDS {
        assert!(
            help.contains(&format!("\n  {command} ")),
            "{command} in --help"
        );
    }
}

/// The `--help` of rolecall and of every command, as a user reads it:
/// a changed flag, default or example shows up in review.
#[test]
fn every_help_is_snapshotted() {
    for command in [""].into_iter().chain(COMMANDS).chain(NESTED) {
        let args: Vec<&str> = command.split_whitespace().chain(["--help"]).collect();
        let help = std::process::Command::new(env!("CARGO_BIN_EXE_rolecall"))
            .args(&args)
            // No ROLECALL_* value of this machine shows in `[env: ...]`.
            .env_clear()
            .env("NO_COLOR", "1")
            .env("COLUMNS", "100")
            .output()
            .unwrap();
        assert_eq!(help.status.code(), Some(0), "{command} --help");
        let name = if command.is_empty() {
            "rolecall".to_string()
        } else {
            command.replace(' ', "_")
        };
        insta::assert_snapshot!(
            format!("help_{name}"),
            String::from_utf8_lossy(&help.stdout)
        );
    }
}

/// Every subcommand: an unknown flag is a usage error, exit 1 (a cron job
/// must not read it as `drift`'s 2, "changes found"); `--help` exits 0 and
/// prints to stdout; `--version` exits 0.
#[test]
fn usage_errors_exit_1_and_help_and_version_exit_0() {
    for command in COMMANDS.into_iter().chain(NESTED) {
        let words: Vec<&str> = command.split_whitespace().collect();
        let bad = rolecall(&root(), &[&words[..], &["--no-such-flag"]].concat());
        assert_eq!(
            bad.status.code(),
            Some(1),
            "{command}: {}",
            transcript(&bad)
        );
        let stderr = String::from_utf8_lossy(&bad.stderr);
        assert!(
            stderr.contains("--no-such-flag"),
            "{command} names the flag: {stderr}"
        );
        assert!(bad.stdout.is_empty(), "{command}: nothing on stdout");

        let help = rolecall(&root(), &[&words[..], &["--help"]].concat());
        assert_eq!(help.status.code(), Some(0), "{command} --help");
        assert!(
            String::from_utf8_lossy(&help.stdout).contains("Usage: rolecall"),
            "{command} --help on stdout"
        );
    }
    let missing = rolecall(&root(), &["completions"]);
    assert_eq!(missing.status.code(), Some(1), "a missing argument");
    let none = rolecall(&root(), &[]);
    assert_eq!(none.status.code(), Some(1), "no command at all");
    let unknown = rolecall(&root(), &["frobnicate"]);
    assert_eq!(unknown.status.code(), Some(1), "an unknown command");
    let version = rolecall(&root(), &["--version"]);
    assert_eq!(version.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("rolecall "));
}

/// The emulator keeps its own action list and email check, apart from
/// rolecall's on purpose (a shared bug would pass every test); they must not
/// drift apart.
#[test]
fn the_emulator_and_rolecall_agree_on_actions_and_emails() {
    assert_eq!(
        periscope_emulator::ACTIONS,
        rolecall_core::config::vocab::ACTIONS
    );
    let emails = [
        "jane@acme.com",
        "J.Doe+x@sub.acme.co.uk",
        "jane",
        "jane@",
        "@acme.com",
        "jane@acme",
        "jane@@acme.com",
        "jane doe@acme.com",
        "jane@acme..com",
        "jane@acme.com.",
        "jane@.acme.com",
        "ja\nne@acme.com",
        "jane@acme.com,bob@acme.com",
        "jane;x@acme.com",
        "<jane@acme.com>",
        "jane\u{7f}@acme.com",
        "jäne@acme.com",
    ];
    for email in emails {
        assert_eq!(
            periscope_emulator::is_email(email),
            rolecall_core::config::vocab::is_email(email),
            "{email:?}"
        );
    }
}
