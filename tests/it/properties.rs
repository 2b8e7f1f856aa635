//! Properties of the loader: the same content gives the same model however it
//! is split over files, and no input makes it panic.

use std::fmt::Write as _;
use std::path::PathBuf;

use proptest::prelude::*;
use rolecall_core::config::load::{LoadError, load_path, load_texts};
use rolecall_core::config::vocab::ACTIONS;

use crate::root;

#[derive(Debug, Clone)]
struct GenRole {
    name: String,
    description: String,
    privileges: Vec<&'static str>,
    dashboards: Vec<(String, Vec<&'static str>)>,
}

#[derive(Debug, Clone)]
struct GenUser {
    email: String,
    first: String,
    roles: Vec<String>,
}

#[derive(Debug, Clone)]
struct GenConfig {
    roles: Vec<GenRole>,
    users: Vec<GenUser>,
    prune_users: &'static str,
    max_deletes: String,
    /// For each role then each user, the file it goes to when split.
    placement: Vec<u8>,
}

fn action() -> impl Strategy<Value = &'static str> {
    proptest::sample::select(ACTIONS)
}

fn config() -> impl Strategy<Value = GenConfig> {
    let role = (
        "[A-Z][a-z]{2,8}( [A-Z][a-z]{2,6})?",
        "[a-zA-Z ,.]{0,40}",
        proptest::collection::vec(action(), 0..4),
        proptest::collection::vec(
            (
                "(#[0-9]{1,5}|[A-Z][a-z]{3,9} [A-Z][a-z]{3,9})",
                proptest::collection::vec(action(), 0..3),
            ),
            0..3,
        ),
    )
        .prop_map(|(name, description, privileges, dashboards)| GenRole {
            name,
            description: description.trim().to_string(),
            privileges,
            dashboards,
        });
    (proptest::collection::vec(role, 0..8), 0..30usize)
        .prop_flat_map(|(mut roles, n_users)| {
            // Role names are unique case-insensitively in a valid config.
            let mut seen = std::collections::HashSet::new();
            roles.retain(|r| seen.insert(r.name.to_lowercase()));
            roles.iter_mut().for_each(|r| {
                let mut seen = std::collections::HashSet::new();
                r.dashboards.retain(|(d, _)| seen.insert(d.clone()));
            });
            let names: Vec<String> = roles.iter().map(|r| r.name.clone()).collect();
            let user = (
                "[a-z]{1,8}",
                "[A-Z][a-z]{1,8}",
                proptest::sample::subsequence(names.clone(), 0..=names.len()),
            )
                .prop_map(|(local, first, roles)| GenUser {
                    email: format!("{local}@acme.com"),
                    first,
                    roles,
                });
            let n_items = roles.len() + n_users;
            (
                Just(roles),
                proptest::collection::vec(user, n_users),
                proptest::sample::select(&["false", "delete", "strip"][..]),
                proptest::sample::select(&["3", "\"5%\"", "0"][..]).prop_map(String::from),
                proptest::collection::vec(0u8..4, n_items),
            )
        })
        .prop_map(|(roles, mut users, prune_users, max_deletes, placement)| {
            let mut seen = std::collections::HashSet::new();
            users.retain(|u| seen.insert(u.email.clone()));
            GenConfig {
                roles,
                users,
                prune_users,
                max_deletes,
                placement,
            }
        })
}

fn role_yaml(r: &GenRole) -> String {
    // Names are quoted: a generated `True` or `Null` is not text in YAML.
    let mut s = format!("  {:?}:\n    description: {:?}\n", r.name, r.description);
    if !r.privileges.is_empty() {
        let _ = writeln!(
            s,
            "    privileges:\n      Dashboard: [{}]",
            r.privileges.join(", ")
        );
    }
    if !r.dashboards.is_empty() {
        s.push_str("    dashboards:\n");
        for (d, actions) in &r.dashboards {
            let _ = writeln!(s, "      {d:?}: [{}]", actions.join(", "));
        }
    }
    s
}

fn user_yaml(u: &GenUser) -> String {
    let roles: Vec<String> = u.roles.iter().map(|r| format!("{r:?}")).collect();
    format!(
        "  {}:\n    first_name: {:?}\n    roles: [{}]\n",
        u.email,
        u.first,
        roles.join(", ")
    )
}

fn settings_yaml(c: &GenConfig) -> String {
    format!(
        "site: acme\nactor: admin@acme.com\nprune:\n  users: {}\nlimits:\n  max_deletes: {}\n",
        c.prune_users, c.max_deletes
    )
}

fn one_file(c: &GenConfig) -> Vec<(PathBuf, String)> {
    let mut s = settings_yaml(c);
    s.push_str("roles:\n");
    c.roles.iter().for_each(|r| s.push_str(&role_yaml(r)));
    s.push_str("users:\n");
    c.users.iter().for_each(|u| s.push_str(&user_yaml(u)));
    vec![("rolecall.yaml".into(), s)]
}

fn split(c: &GenConfig) -> Vec<(PathBuf, String)> {
    let mut roles = vec![String::new(); 4];
    let mut users = vec![String::new(); 4];
    for (r, &f) in c.roles.iter().zip(&c.placement) {
        roles[f as usize].push_str(&role_yaml(r));
    }
    for (u, &f) in c.users.iter().zip(&c.placement[c.roles.len()..]) {
        users[f as usize].push_str(&user_yaml(u));
    }
    let mut files = vec![("dir/rolecall.yaml".into(), settings_yaml(c))];
    for i in 0..4 {
        if !roles[i].is_empty() {
            files.push((
                format!("dir/roles/{i}.yaml").into(),
                format!("roles:\n{}", roles[i]),
            ));
        }
        if !users[i].is_empty() {
            files.push((
                format!("dir/teams/{i}.yml").into(),
                format!("users:\n{}", users[i]),
            ));
        }
    }
    // The order files are given in must not matter either.
    files.reverse();
    files
}

fn model(files: Vec<(PathBuf, String)>) -> serde_json::Value {
    match load_texts(files) {
        Ok(loaded) => serde_json::to_value(&loaded.desired).unwrap(),
        Err(e) => panic!("{}", render(&e)),
    }
}

fn render(e: &LoadError) -> String {
    e.diagnostics
        .iter()
        .map(|d| d.render(&e.sources, false))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn one_file_or_a_directory_gives_the_same_model(c in config()) {
        let whole = model(one_file(&c));
        let parts = model(split(&c));
        prop_assert_eq!(&whole, &parts);
        prop_assert_eq!(whole["users"].as_object().unwrap().len(), c.users.len());
        prop_assert_eq!(whole["roles"].as_object().unwrap().len(), c.roles.len());
    }
}

#[test]
fn the_org_example_as_one_file_is_the_same_model() {
    let dir = root().join("examples/data-org");
    let from_dir = load_path(&dir).unwrap_or_else(|e| panic!("{}", render(&e)));
    // Gather each file's top-level sections into one file's sections.
    let mut sections: [String; 3] = Default::default();
    for file in [
        "rolecall.yaml",
        "roles/access.yaml",
        "roles/departments.yaml",
        "teams/data.yaml",
        "teams/finance.yaml",
        "teams/marketing.yaml",
    ] {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        let mut current = 0;
        for line in text.lines() {
            match line {
                "roles:" => current = 1,
                "users:" => current = 2,
                l if !l.starts_with([' ', '#']) && !l.is_empty() => current = 0,
                _ => {}
            }
            if line != "roles:" && line != "users:" {
                sections[current].push_str(line);
                sections[current].push('\n');
            }
        }
    }
    let joined = format!(
        "{}roles:\n{}users:\n{}",
        sections[0], sections[1], sections[2]
    );
    let from_file =
        load_texts(vec![("all.yaml".into(), joined)]).unwrap_or_else(|e| panic!("{}", render(&e)));
    assert_eq!(
        serde_json::to_value(&from_dir.desired).unwrap(),
        serde_json::to_value(&from_file.desired).unwrap()
    );
}

/// Every config file of every example and of the broken corpus, read once
/// (the CI recipes' own YAML is not a config: their linters check it).
fn seeds() -> &'static [(PathBuf, String)] {
    static SEEDS: std::sync::OnceLock<Vec<(PathBuf, String)>> = std::sync::OnceLock::new();
    SEEDS.get_or_init(read_seeds)
}

fn read_seeds() -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut dirs = vec![root().join("examples"), root().join("tests/corpus/invalid")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let ci = path
                .file_name()
                .is_some_and(|n| n == ".github" || n == ".gitlab-ci.yml");
            if ci {
                continue;
            } else if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml")
                && let Ok(text) = std::fs::read_to_string(&path)
            {
                out.push((path, text));
            }
        }
    }
    out.sort();
    out
}

/// Loads and renders every diagnostic: an error or success, never a panic.
fn load_and_render(path: &std::path::Path, text: String) {
    match load_texts(vec![(path.to_path_buf(), text)]) {
        Ok(loaded) => {
            for d in &loaded.warnings {
                d.render(&loaded.sources, true);
            }
        }
        Err(e) => {
            assert!(!e.diagnostics.is_empty(), "an error without diagnostics");
            for d in &e.diagnostics {
                d.render(&e.sources, true);
            }
        }
    }
}

#[test]
fn truncated_examples_never_panic() {
    let mut cases = 0;
    for (path, text) in seeds()
        .iter()
        .filter(|(p, _)| p.starts_with(root().join("examples")))
    {
        // Every character under ROLECALL_SOAK; else every third, and every
        // place where YAML's structure turns (line ends, `:`, `-`, quotes).
        let soak = std::env::var_os("ROLECALL_SOAK").is_some();
        let cuts: Vec<usize> = text
            .char_indices()
            .enumerate()
            .filter(|(n, (i, c))| {
                soak || n % 3 == 0
                    || matches!(c, '\n' | ':' | '-' | '"' | '\'' | '[' | '{' | '#')
                    || text[..*i].ends_with(['\n', ':'])
            })
            .map(|(_, (i, _))| i)
            .collect();
        for &cut in &cuts {
            load_and_render(path, text[..cut].to_string());
            cases += 1;
        }
    }
    assert!(cases > 1000, "only {cases} truncations");
}

/// Text that tends to break YAML and our reading of it.
const TOKENS: &[&str] = &[
    ":",
    ": ",
    "-",
    "- ",
    "[",
    "]",
    "{",
    "}",
    ",",
    "'",
    "\"",
    "#",
    "\t",
    "\n",
    "\n  ",
    "    ",
    "&a ",
    "*a",
    "!!str ",
    "!!int ",
    "%",
    "|",
    ">",
    "~",
    "null",
    "true",
    "0x1F",
    "1e9",
    "é",
    "💥",
    "\r\n",
    "?",
    "<<: ",
    "---\n",
    "...",
    "\\",
    "@",
    "#4711",
    "read_dashboards",
    "Dashboard",
    "users:",
    "roles:",
    "\u{feff}",
    "\0",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn mutated_examples_never_panic(
        seed in 0usize..1000,
        ops in proptest::collection::vec((0u8..4, any::<prop::sample::Index>(), any::<prop::sample::Index>(), proptest::sample::select(TOKENS)), 1..6),
    ) {
        let (path, text) = &seeds()[seed % seeds().len()];
        let mut chars: Vec<char> = text.chars().collect();
        for (op, at, len, token) in ops {
            let at = if chars.is_empty() { 0 } else { at.index(chars.len() + 1) };
            match op {
                0 => { chars.splice(at..at, token.chars()); }
                1 => { let end = (at + len.index(12)).min(chars.len()); chars.drain(at..end); }
                2 => {
                    // Duplicate a run of text (a line copied twice).
                    let end = (at + len.index(80)).min(chars.len());
                    let run: Vec<char> = chars[at..end].to_vec();
                    chars.splice(at..at, run);
                }
                _ => { if at < chars.len() { chars[at] = token.chars().next().unwrap_or(' '); } }
            }
        }
        load_and_render(path, chars.into_iter().collect());
    }
}
