//! `rolecall validate` on the corpus of broken configs: one mistake each, the
//! exact diagnostic text snapshotted.

use std::fs;

use crate::{rolecall, root, transcript};

/// Cases that hold more than one mistake on purpose.
const SEVERAL: &[(&str, usize)] = &[("dir-errors-in-two-files", 2)];

#[test]
fn every_broken_config_gets_its_diagnostic() {
    let dir = root().join("tests/corpus/invalid");
    let mut cases: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 40,
        "the corpus shrank to {} cases",
        cases.len()
    );
    // Every case runs, and all failures are listed at the end.
    let failed: Vec<&String> = cases
        .iter()
        .filter(|case| std::panic::catch_unwind(|| check_case(&dir, case)).is_err())
        .collect();
    assert!(failed.is_empty(), "failed cases: {failed:?}");
}

fn check_case(dir: &std::path::Path, case: &str) {
    {
        let output = rolecall(dir, &["validate", "-f", case]);
        let text = transcript(&output);
        let stderr = String::from_utf8_lossy(&output.stderr);
        // Diagnostics are the `error:`/`warning:` headers but the summary line.
        let headers = stderr
            .lines()
            .filter(|l| l.starts_with("error: ") || l.starts_with("warning: "))
            .filter(|l| !l.contains("is not a valid config"))
            .count();
        let expected = SEVERAL
            .iter()
            .find(|(name, _)| *name == case)
            .map_or(1, |(_, n)| *n);
        assert_eq!(
            headers, expected,
            "{case}: one mistake, one diagnostic:\n{text}"
        );
        if case.contains("warning") {
            assert_eq!(
                output.status.code(),
                Some(0),
                "{case}: warnings do not fail:\n{text}"
            );
            assert!(
                String::from_utf8_lossy(&output.stdout).starts_with("ok: "),
                "{case}"
            );
        } else {
            assert_eq!(
                output.status.code(),
                Some(1),
                "{case}: errors fail:\n{text}"
            );
            assert!(
                output.stdout.is_empty(),
                "{case}: nothing on stdout when invalid"
            );
        }
        insta::with_settings!({
            snapshot_path => "snapshots/invalid",
            prepend_module_to_snapshot => false,
            omit_expression => true,
            description => format!("rolecall validate -f {case}"),
        }, {
            insta::assert_snapshot!(case.trim_end_matches(".yaml").to_string(), text);
        });
    }
}

#[test]
fn a_missing_path_says_how_to_point_at_the_config() {
    let tmp = tempfile::tempdir().unwrap();
    let output = rolecall(tmp.path(), &["validate", "-f", "no-such-rolecall.yaml"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    insta::assert_snapshot!(stderr, @r"
    error: cannot read `no-such-rolecall.yaml`: No such file or directory (os error 2)
      hint: pass the config file or directory with `-f PATH`; the default is `./rolecall.yaml`

    error: `no-such-rolecall.yaml` is not a valid config: 1 error
    ");
}

#[test]
fn the_default_path_is_rolecall_yaml_in_the_working_directory() {
    let dir = root().join("examples/small-team");
    let output = rolecall(&dir, &["validate"]);
    assert_eq!(output.status.code(), Some(0), "{}", transcript(&output));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "ok: 2 roles, 4 users (1 file)\n"
    );
}

#[test]
fn quiet_hides_warnings_but_not_errors() {
    let dir = root().join("tests/corpus/invalid");
    let warn = rolecall(
        &dir,
        &["validate", "-q", "-f", "undefined-role-warning.yaml"],
    );
    assert_eq!(warn.status.code(), Some(0));
    assert!(warn.stderr.is_empty(), "{}", transcript(&warn));
    let err = rolecall(&dir, &["-q", "validate", "-f", "unknown-role-key.yaml"]);
    assert_eq!(err.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&err.stderr).contains("unknown key `descripton`"));
}

#[test]
fn verbose_lists_the_files_read_in_order() {
    let output = rolecall(&root(), &["validate", "-v", "-f", "examples/data-org"]);
    assert_eq!(output.status.code(), Some(0));
    insta::assert_snapshot!(String::from_utf8_lossy(&output.stderr), @r"
    read examples/data-org/rolecall.yaml
    read examples/data-org/roles/access.yaml
    read examples/data-org/roles/departments.yaml
    read examples/data-org/teams/data.yaml
    read examples/data-org/teams/finance.yaml
    read examples/data-org/teams/marketing.yaml
    skipped examples/data-org/README.md (not *.yaml or *.yml)
    read examples/data-org/rolecall.lock (the dashboard pins)
    skipped examples/data-org/sandbox.json (not *.yaml or *.yml)
    ");
}

#[test]
fn color_only_when_asked_or_on_a_terminal() {
    let dir = root().join("tests/corpus/invalid");
    let plain = rolecall(&dir, &["validate", "-f", "unknown-role-key.yaml"]);
    assert!(!plain.stderr.contains(&0x1b), "no escape codes on a pipe");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_rolecall"));
    let colored = cmd
        .current_dir(&dir)
        .args([
            "validate",
            "--color",
            "always",
            "-f",
            "unknown-role-key.yaml",
        ])
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    assert!(
        colored.stderr.contains(&0x1b),
        "escape codes with --color always"
    );
}
