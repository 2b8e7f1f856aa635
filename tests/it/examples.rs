//! Every example validates, with no warnings.

use crate::{rolecall, root, transcript};

#[test]
fn every_example_validates_cleanly() {
    let dir = root().join("examples");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if !path.is_dir() {
            continue;
        }
        seen += 1;
        assert!(
            path.join("README.md").exists(),
            "{} needs a README.md",
            path.display()
        );
        let output = rolecall(&root(), &["validate", "-f", path.to_str().unwrap()]);
        assert_eq!(output.status.code(), Some(0), "{}", transcript(&output));
        assert!(
            output.stderr.is_empty(),
            "warnings in {}:\n{}",
            path.display(),
            transcript(&output)
        );
        assert!(String::from_utf8_lossy(&output.stdout).starts_with("ok: "));
    }
    assert!(seen >= 2, "at least two examples");
}

#[test]
fn the_org_example_merges_its_directory() {
    let output = rolecall(&root(), &["validate", "-f", "examples/data-org"]);
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "ok: 6 roles, 7 users (6 files)\n"
    );
}
