//! The review's rules, one test each: what a sheet may and may not be,
//! what `verify` proves, which commits name a pull request, what
//! snapshots show.

use super::decisions::{Rules, Word, check, verify};
use super::files::{decisions_csv, population_csv};
use super::findings::population;
use super::model::{Inputs, Seen, pull_request_of};
use super::settings::Settings;
use crate::config::date::Date;
use crate::config::load::load_texts;
use crate::live::Live;
use crate::testing::{live_role, live_user};

fn day(s: &str) -> Date {
    Date::parse(s).unwrap()
}

fn site(sam_admin: bool) -> Live {
    let mut sam = vec!["r-every"];
    if sam_admin {
        sam.push("r-admin");
    }
    Live {
        users: vec![
            live_user("u1", "ada@acme.com", "Ada", "A", &["r-every", "r-admin"]),
            live_user("u2", "sam@acme.com", "Sam", "S", &sam),
            live_user("u3", "li@acme.com", "Li", "L", &["r-every"]),
        ],
        roles: vec![
            live_role("r-admin", "Admin", "", &[], &[]),
            live_role("r-every", "Everyone", "", &[], &[]),
        ],
        objects: Vec::new(),
    }
}

const CONFIG: &str = "site: acme
actor: ada@acme.com
review:
  owners:
    Admin: [sec@acme.com]
    \"*\": [lead@acme.com]
users:
  ada@acme.com: {roles: [Admin]}
  sam@acme.com: {roles: [Admin]}
";

/// The pack's population and empty sheet for `site(true)`.
fn pack() -> (String, String) {
    let desired = load_texts(vec![("rolecall.yaml".into(), CONFIG.into())])
        .unwrap()
        .desired;
    let live = site(true);
    let settings = desired.review.clone();
    let inputs = Inputs {
        site: "acme",
        as_of: "2026-10-01T00:00:00Z",
        today: day("2026-10-01"),
        live: &live,
        desired: &desired,
        settings: &settings,
        history: None,
        seen: None,
        activity: None,
        activity_since: None,
        directory: None,
        period_from: None,
    };
    let p = population(&inputs);
    (
        String::from_utf8(population_csv(&p)).unwrap(),
        String::from_utf8(decisions_csv(&p)).unwrap(),
    )
}

/// The sheet with row `n` (1-based, after the header) decided as `cells`.
fn decide(sheet: &str, rows: &[(usize, &str)]) -> String {
    let mut lines: Vec<String> = sheet.lines().map(str::to_string).collect();
    for (n, cells) in rows {
        let line = &mut lines[*n];
        let keep = line.trim_end_matches(",,,,,").to_string();
        *line = format!("{keep},{cells}");
    }
    lines.join("\n") + "\n"
}

fn rules(population: &str) -> Rules<'_> {
    Rules {
        population,
        as_of: day("2026-10-01"),
        today: day("2026-10-05"),
        every: 90,
        due: Some(day("2026-10-15")),
    }
}

#[test]
fn a_complete_sheet_passes_and_each_broken_rule_is_at_its_line() {
    let (population, sheet) = pack();
    // ada/Admin, li/Everyone, sam/Admin.
    assert_eq!(population.lines().count(), 4, "{population}");
    let good = decide(
        &sheet,
        &[
            (1, "keep,,,sec@acme.com,2026-10-02"),
            (2, "keep,,,lead@acme.com,2026-10-02"),
            (
                3,
                "exception,on leave until January,2026-12-30,sec@acme.com,2026-10-03",
            ),
        ],
    );
    let ok = check(&rules(&population), &good);
    assert!(ok.problems.is_empty(), "{:?}", ok.problems);
    assert_eq!(ok.decisions.len(), 3);
    assert_eq!(ok.decisions[2].word, Word::Exception);

    let bad = decide(
        &sheet,
        &[
            (1, "keep,,,ada@acme.com,2026-10-02"),    // her own access
            (2, "revoke,,,lead@acme.com,2026-10-02"), // Everyone
            (3, "exception,,2027-06-01,lead@acme.com,2026-10-20"), // all wrong
        ],
    );
    let found = check(&rules(&population), &bad);
    let said: Vec<(u64, &str)> = found
        .problems
        .iter()
        .map(|p| (p.line, p.text.as_str()))
        .collect();
    let has = |line: u64, text: &str| said.iter().any(|(l, t)| *l == line && t.contains(text));
    assert!(has(2, "may not review their own access"), "{said:?}");
    assert!(has(3, "Everyone cannot be revoked"), "{said:?}");
    assert!(has(4, "is not an owner of the role"), "{said:?}");
    assert!(has(4, "outside the review"), "{said:?}");
    assert!(has(4, "needs a reason"), "{said:?}");
    assert!(has(4, "within the next cycle"), "{said:?}");

    // Undecided, dropped, added, twice, and a header not the pack's.
    let mut lines: Vec<&str> = sheet.lines().collect();
    let sam = lines.remove(3);
    let twice = decide(&format!("{}\n{}\n", lines.join("\n"), lines[1]), &[]);
    let found = check(&rules(&population), &twice);
    assert!(found.problems.iter().any(|p| p.line == 0
        && p.text.contains("`sam@acme.com` / `Admin`")
        && p.text.contains("dropped")));
    assert!(
        found
            .problems
            .iter()
            .any(|p| p.text.contains("given twice"))
    );
    assert_eq!(found.undecided, 2);
    let _ = sam;
    let header = check(&rules(&population), "email,role\n");
    assert_eq!(header.problems[0].line, 1);
}

#[test]
fn verify_proves_revokes_on_the_site_and_exceptions_in_the_config() {
    let (population, sheet) = pack();
    let filled = decide(
        &sheet,
        &[
            (1, "keep,,,sec@acme.com,2026-10-02"),
            (2, "keep,,,lead@acme.com,2026-10-02"),
            (3, "revoke,left,,sec@acme.com,2026-10-02"),
        ],
    );
    let decisions = check(&rules(&population), &filled).decisions;
    let desired = load_texts(vec![("rolecall.yaml".into(), CONFIG.into())])
        .unwrap()
        .desired;
    let gone = verify(&decisions, &site(false), &desired);
    assert_eq!(gone.len(), 1, "keeps are not proven");
    assert!(gone[0].holds, "{:?}", gone[0]);
    let back = verify(&decisions, &site(true), &desired);
    assert!(!back[0].holds && back[0].text.contains("the site still grants it"));

    let excepted = decide(
        &sheet,
        &[
            (1, "keep,,,sec@acme.com,2026-10-02"),
            (2, "keep,,,lead@acme.com,2026-10-02"),
            (3, "exception,on leave,2026-12-01,sec@acme.com,2026-10-02"),
        ],
    );
    let decisions = check(&rules(&population), &excepted).decisions;
    let without = verify(&decisions, &site(true), &desired);
    assert!(!without[0].holds && without[0].text.contains("without `until`"));
    let with_until = CONFIG.replace(
        "sam@acme.com: {roles: [Admin]}",
        "sam@acme.com: {roles: [{role: Admin, until: 2026-11-30}]}",
    );
    let desired = load_texts(vec![("rolecall.yaml".into(), with_until)])
        .unwrap()
        .desired;
    assert!(verify(&decisions, &site(true), &desired)[0].holds);
}

#[test]
fn pull_requests_are_read_from_merge_and_squash_messages() {
    assert_eq!(
        pull_request_of("Merge pull request #42 from acme/x\n\nbody"),
        Some(42)
    );
    assert_eq!(pull_request_of("Give Li Finance (#7)"), Some(7));
    assert_eq!(
        pull_request_of("Merge branch 'x' into 'main'\n\nSee merge request data/access!19"),
        Some(19)
    );
    assert_eq!(pull_request_of("Fix #12 by hand"), None);
    assert_eq!(pull_request_of("Give Li (#7a)"), None);
}

#[test]
fn snapshots_show_memberships_given_and_taken_between_nights() {
    let mut seen = Seen::default();
    seen.add("2026-09-01T02:00:00Z", &site(false));
    seen.add("2026-09-02T02:00:00Z", &site(true));
    seen.add("2026-09-03T02:00:00Z", &site(false));
    let sam = &seen.memberships[&("sam@acme.com".to_string(), "admin".to_string())];
    assert_eq!(
        (sam.first.as_str(), sam.last.as_str()),
        ("2026-09-02T02:00:00Z", "2026-09-02T02:00:00Z")
    );
    let changes: Vec<(bool, &str)> = seen
        .changes
        .iter()
        .map(|c| (c.added, c.at.as_str()))
        .collect();
    assert_eq!(
        changes,
        [
            (true, "2026-09-02T02:00:00Z"),
            (false, "2026-09-03T02:00:00Z")
        ]
    );
    let _ = Settings::default();
}
