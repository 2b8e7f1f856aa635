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
        rolecall_core::vocab::ACTIONS.len()
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

#[test]
fn help_lists_the_commands() {
    let output = rolecall(&root(), &["--help"]);
    let help = String::from_utf8_lossy(&output.stdout);
    for command in ["validate", "schema", "completions"] {
        assert!(help.contains(command), "{command} in --help");
    }
}
