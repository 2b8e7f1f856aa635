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
        // A GitOps repository holds one config per site.
        let configs: Vec<_> = match std::fs::read_dir(path.join("sites")) {
            Ok(sites) => sites.map(|s| s.unwrap().path()).collect(),
            Err(_) => vec![path.clone()],
        };
        for config in configs {
            let output = rolecall(&root(), &["validate", "-f", config.to_str().unwrap()]);
            assert_eq!(output.status.code(), Some(0), "{}", transcript(&output));
            assert!(
                output.stderr.is_empty(),
                "warnings in {}:\n{}",
                config.display(),
                transcript(&output)
            );
            assert!(String::from_utf8_lossy(&output.stdout).starts_with("ok: "));
        }
    }
    assert!(seen >= 3, "at least three examples");
}

/// The GitOps example's sandboxes are its sites as applied: each plans to
/// no changes, so the recipes start from a site that matches its config.
#[test]
fn the_gitops_sites_match_their_sandboxes() {
    let dir = root().join("examples/gitops");
    for site in ["acme", "acme-staging"] {
        let sandbox = dir.join(format!("sandbox/{site}.json"));
        let config = dir.join(format!("sites/{site}"));
        let output = rolecall(
            &root(),
            &[
                "plan",
                "--detailed-exitcode",
                "--sandbox",
                sandbox.to_str().unwrap(),
                "-f",
                config.to_str().unwrap(),
            ],
        );
        assert_eq!(output.status.code(), Some(0), "{}", transcript(&output));
    }
}

#[test]
fn the_org_example_merges_its_directory() {
    let output = rolecall(&root(), &["validate", "-f", "examples/data-org"]);
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "ok: 6 roles, 7 users (6 files)\n"
    );
}

/// Every `$schema` comment of the examples points at the schema in this
/// repository (six pointed one folder off), so an editor finds it.
#[test]
fn every_example_s_schema_comment_finds_the_schema() {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&root().join("examples"), &mut files);
    let schema = root()
        .join("schema/rolecall.schema.json")
        .canonicalize()
        .unwrap();
    let mut seen = 0;
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let Some(at) = text.lines().find_map(|l| l.split_once("$schema=")) else {
            continue;
        };
        seen += 1;
        let target = file.parent().unwrap().join(at.1.trim());
        assert_eq!(
            target.canonicalize().ok().as_ref(),
            Some(&schema),
            "{}: $schema={}",
            file.display(),
            at.1
        );
    }
    assert!(seen >= 17, "{seen} files name the schema");
}
