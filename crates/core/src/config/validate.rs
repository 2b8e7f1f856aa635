//! Checks across the whole merged config, after each file has been checked on
//! its own. Each check is a named function; all of them run.

use std::collections::{BTreeMap, HashMap};

use crate::config::load::convert::Refs;
use crate::config::model::Desired;
use crate::config::vocab;
use crate::diagnostic::{Diagnostic, Pos, SourceMap, did_you_mean};

/// Where the entries of a merged config were written, for the checks that
/// look at the whole config.
#[derive(Debug)]
pub(crate) struct Index<'s> {
    pub sources: &'s SourceMap,
    /// Position of each role's key, by role key.
    pub roles: BTreeMap<String, Pos>,
    /// Position of each user's key, by user key.
    pub users: BTreeMap<String, Pos>,
    pub refs: Refs,
    /// Some role could not be read: "not defined" would be a guess.
    pub roles_incomplete: bool,
}

type Check = fn(&Desired, &Index<'_>, &mut Vec<Diagnostic>);

/// Every whole-config check, by name.
const CHECKS: &[(&str, Check)] = &[
    ("user roles exist", user_roles_exist),
    ("renames do not collide", renames_do_not_collide),
    ("actor keeps Admin", actor_keeps_admin),
    ("Admin's rights are not managed", admin_rights_not_managed),
    ("names use one script", one_script),
    ("email domains are not lookalikes", no_lookalike_domains),
    ("emails are as they look", emails_as_they_look),
    (
        "managed entries are not ignored or protected",
        managed_not_ignored,
    ),
];

pub(crate) fn check(desired: &Desired, index: &Index<'_>, diagnostics: &mut Vec<Diagnostic>) {
    for (_name, check) in CHECKS {
        check(desired, index, diagnostics);
    }
}

/// A user's role must be defined in the config or be a default role; others
/// may exist on the site only, which `plan` checks, so they are warnings. A
/// role's old name (`renamed_from`) is an error: it will not exist after the
/// rename.
fn user_roles_exist(desired: &Desired, index: &Index<'_>, diagnostics: &mut Vec<Diagnostic>) {
    let old_names: HashMap<String, &str> = desired
        .roles
        .values()
        .flat_map(|r| {
            r.renamed_from
                .iter()
                .map(move |old| (vocab::key(old), r.name.as_str()))
        })
        .collect();
    let known: Vec<&str> = desired
        .roles
        .values()
        .map(|r| r.name.as_str())
        .chain(vocab::DEFAULT_ROLES.iter().copied())
        .collect();
    // Undefined roles: one warning per role, at its first use, with the count.
    let mut undefined: BTreeMap<String, (Pos, String, Diagnostic, usize)> = BTreeMap::new();
    for user in desired.users.values() {
        for (key, role) in &user.roles {
            if desired.roles.contains_key(key) {
                continue;
            }
            let default = vocab::DEFAULT_ROLES.iter().any(|d| vocab::key(d) == *key);
            let renamed_to = old_names.get(key);
            if renamed_to.is_none() && (default || index.roles_incomplete) {
                continue;
            }
            let Some(pos) = role.origin.pos(index.sources, role.name.chars().count()) else {
                continue;
            };
            let path = format!("users[{:?}].roles[{}]", user.email, role.index);
            let diagnostic = if let Some(new) = renamed_to {
                Diagnostic::error(format!(
                    "role `{}` is renamed to `{new}` by this config",
                    role.name
                ))
                .hint(format!("refer to the role by its new name: `{new}`"))
            } else {
                let hint = match did_you_mean(&role.name, known.iter().copied()) {
                    Some(m) => format!(
                        "did you mean `{m}`? If `{}` exists only on the site, `rolecall plan` will find it",
                        role.name
                    ),
                    None => "define it under `roles:`; if it exists only on the site, `rolecall plan` will find it".to_string(),
                };
                let warning = Diagnostic::warning(format!(
                    "role `{}` is not defined in the config",
                    role.name
                ));
                let warning = Diagnostic {
                    code: Some(crate::diagnostic::UNDEFINED_ROLE),
                    ..warning.hint(hint)
                };
                let entry = undefined
                    .entry(key.clone())
                    .or_insert((pos, path.clone(), warning, 0));
                entry.3 += 1;
                if pos < entry.0 {
                    entry.0 = pos;
                    entry.1 = path;
                }
                continue;
            };
            diagnostics.push(diagnostic.at(pos, path));
        }
    }
    for (pos, path, mut warning, count) in undefined.into_values() {
        if count > 1 {
            warning
                .message
                .push_str(&format!(" ({count} users are given it; the first is here)"));
        }
        diagnostics.push(warning.at(pos, path));
    }
}

/// A live role can be renamed into one role only, and not into a role while
/// the config also keeps a role of the old name.
fn renames_do_not_collide(desired: &Desired, index: &Index<'_>, diagnostics: &mut Vec<Diagnostic>) {
    let mut claimed: BTreeMap<String, (Pos, &str)> = BTreeMap::new();
    for site in &index.refs.renames {
        let Some(role) = desired.roles.get(&site.owner) else {
            continue;
        };
        let old = &site.name;
        let old_key = vocab::key(old);
        if let Some(other) = desired.roles.get(&old_key) {
            let mut d = Diagnostic::error(format!(
                "`{}` is renamed from `{old}`, but the config also defines `{}`",
                role.name, other.name
            ))
            .at(site.pos, &site.path)
            .hint(format!(
                "a rename turns the live `{old}` into `{}`: remove `{}` from `roles`, or remove this `renamed_from` entry",
                role.name, other.name
            ));
            if let Some(pos) = index.roles.get(&old_key) {
                d = d.related(*pos, "defined here");
            }
            diagnostics.push(d);
            continue;
        }
        if let Some((first, first_role)) = claimed.get(&old_key) {
            diagnostics.push(
                Diagnostic::error(format!(
                    "`{old}` is renamed into two roles, `{first_role}` and `{}`",
                    role.name
                ))
                .at(site.pos, &site.path)
                .related(*first, "first renamed here")
                .hint("a live role can be renamed into one role only: keep one of the `renamed_from` entries"),
            );
            continue;
        }
        claimed.insert(old_key, (site.pos, role.name.as_str()));
    }
}

/// rolecall acts as `actor`; if the config listed the actor without Admin, the
/// apply would take away its own rights.
fn actor_keeps_admin(desired: &Desired, index: &Index<'_>, diagnostics: &mut Vec<Diagnostic>) {
    let key = vocab::key(&desired.actor);
    let (Some(user), Some(pos)) = (desired.users.get(&key), index.users.get(&key)) else {
        return;
    };
    if user.roles.contains_key(&vocab::key(vocab::ADMIN)) {
        return;
    }
    diagnostics.push(
        Diagnostic::error(format!(
            "the actor `{}` is listed without the `{}` role",
            desired.actor,
            vocab::ADMIN
        ))
        .at(*pos, format!("users[{:?}]", user.email))
        .hint(format!(
            "rolecall acts as `actor`, which must stay an admin: add `{}` to this user's roles, or choose another actor",
            vocab::ADMIN
        )),
    );
}

/// Admin can do everything on a site; its privileges and dashboard grants are
/// not rolecall's to set or take away. A config may list Admin for its
/// description (and its members, under `users:`).
fn admin_rights_not_managed(
    desired: &Desired,
    index: &Index<'_>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let key = vocab::key(vocab::ADMIN);
    let (Some(role), Some(pos)) = (desired.roles.get(&key), index.roles.get(&key)) else {
        return;
    };
    let set: Vec<&str> = [
        (
            "privileges",
            role.privileges.values().any(|a| !a.is_empty()),
        ),
        (
            "dashboards",
            role.grants.values().any(|g| !g.actions.is_empty()),
        ),
    ]
    .into_iter()
    .filter_map(|(field, given)| given.then_some(field))
    .collect();
    if set.is_empty() {
        return;
    }
    diagnostics.push(
        Diagnostic::error(format!(
            "the `{}` role's {} are not rolecall's to manage",
            vocab::ADMIN,
            set.join(" and ")
        ))
        .at(*pos, format!("roles[{:?}]", role.name))
        .hint(format!(
            "remove `{}` from `{}`: Admin can do everything on the site; rolecall manages only its description, and its members under `users:`",
            set.join("` and `"),
            vocab::ADMIN
        )),
    );
}

/// The scripts whose letters pass for Latin ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Script {
    Latin,
    Cyrillic,
    Greek,
}

impl Script {
    fn of(c: char) -> Option<Script> {
        match c {
            'a'..='z' | 'A'..='Z' => Some(Script::Latin),
            '\u{c0}'..='\u{24f}' if c != '\u{d7}' && c != '\u{f7}' => Some(Script::Latin),
            '\u{370}'..='\u{3ff}' | '\u{1f00}'..='\u{1fff}' => Some(Script::Greek),
            '\u{400}'..='\u{52f}' => Some(Script::Cyrillic),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Script::Latin => "Latin",
            Script::Cyrillic => "Cyrillic",
            Script::Greek => "Greek",
        }
    }
}

/// The first letter of a non-Latin script in a text that also has Latin
/// letters: `jаne` with a Cyrillic `а` looks like `jane` and is not.
fn mixed_script(text: &str) -> Option<(char, Script)> {
    let latin = text.chars().any(|c| Script::of(c) == Some(Script::Latin));
    let other = text.chars().find_map(|c| {
        Script::of(c)
            .filter(|s| *s != Script::Latin)
            .map(|s| (c, s))
    });
    if latin { other } else { None }
}

/// Emails, names and role names that mix Latin with Cyrillic or Greek
/// letters: a lookalike makes another user or role, planned without a word.
fn one_script(desired: &Desired, index: &Index<'_>, diagnostics: &mut Vec<Diagnostic>) {
    let users = desired.users.iter().flat_map(|(key, u)| {
        let pos = index.users.get(key).copied();
        [
            Some(u.email.as_str()),
            u.first_name.as_deref(),
            u.last_name.as_deref(),
        ]
        .into_iter()
        .flatten()
        .map(move |text| (text, pos, format!("users[{:?}]", u.email)))
    });
    let roles = desired.roles.iter().map(|(key, r)| {
        (
            r.name.as_str(),
            index.roles.get(key).copied(),
            format!("roles[{:?}]", r.name),
        )
    });
    for (text, pos, path) in users.chain(roles) {
        let (Some((c, script)), Some(pos)) = (mixed_script(text), pos) else {
            continue;
        };
        diagnostics.push(
            Diagnostic::warning(format!(
                "`{}` mixes Latin and {} letters: `{c}` (U+{:04X}) is {}",
                crate::text::clean(text),
                script.name(),
                c as u32,
                script.name()
            ))
            .at(pos, path)
            .hint("a lookalike letter makes it another name: retype it in one script"),
        );
    }
}

/// The Latin letter a Cyrillic or Greek lookalike passes for.
fn skeleton_char(c: char) -> char {
    match c {
        'а' | 'А' | 'α' | 'Α' => 'a',
        'в' | 'В' | 'β' | 'Β' => 'b',
        'с' | 'С' => 'c',
        'ԁ' => 'd',
        'е' | 'Е' | 'ε' | 'Ε' => 'e',
        'һ' | 'Н' | 'Η' => 'h',
        'і' | 'І' | 'ι' | 'Ι' => 'i',
        'ј' | 'Ј' => 'j',
        'к' | 'К' | 'κ' | 'Κ' => 'k',
        'м' | 'М' | 'Μ' => 'm',
        'ν' | 'Ν' => 'n',
        'о' | 'О' | 'ο' | 'Ο' => 'o',
        'р' | 'Р' | 'ρ' | 'Ρ' => 'p',
        'ѕ' | 'Ѕ' => 's',
        'т' | 'Т' | 'τ' | 'Τ' => 't',
        'υ' => 'u',
        'х' | 'Х' | 'χ' | 'Χ' => 'x',
        'у' | 'У' | 'Υ' => 'y',
        'ζ' | 'Ζ' => 'z',
        c => c.to_ascii_lowercase(),
    }
}

/// A domain that differs from another user's only by lookalike letters
/// (`аcme.com` and `acme.com`): a warning on the rarer spelling.
fn no_lookalike_domains(desired: &Desired, index: &Index<'_>, diagnostics: &mut Vec<Diagnostic>) {
    let domain = |email: &str| email.rsplit_once('@').map(|(_, d)| d.to_lowercase());
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for u in desired.users.values() {
        if let Some(d) = domain(&u.email) {
            *counts.entry(d).or_default() += 1;
        }
    }
    let skeleton = |d: &str| d.chars().map(skeleton_char).collect::<String>();
    let mut by_skeleton: BTreeMap<String, Vec<(&String, usize)>> = BTreeMap::new();
    for (d, n) in &counts {
        by_skeleton.entry(skeleton(d)).or_default().push((d, *n));
    }
    for (key, u) in &desired.users {
        let (Some(d), Some(pos)) = (domain(&u.email), index.users.get(key)) else {
            continue;
        };
        let group = &by_skeleton[&skeleton(&d)];
        // The most common spelling (ASCII on a tie) is taken as the real one.
        let Some((real, _)) = group.iter().max_by_key(|(g, n)| (*n, g.is_ascii())) else {
            continue;
        };
        if group.len() < 2 || **real == d {
            continue;
        }
        diagnostics.push(
            Diagnostic::warning(format!(
                "the domain of `{}` looks like `{real}` but is not the same",
                crate::text::clean(&u.email)
            ))
            .at(*pos, format!("users[{:?}]", u.email))
            .hint("a lookalike letter makes it another domain: retype it"),
        );
    }
}

/// The first character of `email` that shows as nothing, or that
/// compatibility normalisation (NFKC, of the whole address: a combining
/// accent joins the letter before it) or case folding turns into another (a
/// Kelvin sign into `k`, a fullwidth `ｊ` into `j`): the address reads as one
/// a reviewer knows, and is not.
fn unplain(email: &str) -> Option<char> {
    if let Some(c) = email.chars().find(|&c| crate::text::is_invisible(c)) {
        return Some(c);
    }
    let nfkc = icu_normalizer::ComposingNormalizerBorrowed::new_nfkc();
    // Case folding to ASCII (a Kelvin sign), a combining mark (an accent or
    // a line drawn over the letter before it), a dotless or dotted i.
    let folds = |c: char| !c.is_ascii() && c.to_lowercase().any(|l| l.is_ascii());
    let combining = |c: char| matches!(c, '\u{300}'..='\u{36f}' | '\u{1ab0}'..='\u{1aff}' | '\u{1dc0}'..='\u{1dff}' | '\u{20d0}'..='\u{20ff}' | '\u{fe20}'..='\u{fe2f}');
    if let Some(c) = email
        .chars()
        .find(|&c| folds(c) || combining(c) || matches!(c, 'ı' | 'İ'))
    {
        return Some(c);
    }
    let normal = nfkc.normalize(email);
    if normal == email {
        return None;
    }
    // The first character outside ASCII from where the normal form differs
    // (of `o` + U+0301, the accent).
    let at = email
        .chars()
        .zip(normal.chars())
        .position(|(a, b)| a != b)
        .unwrap_or(0);
    email
        .chars()
        .skip(at)
        .find(|c| !c.is_ascii())
        .or_else(|| email.chars().last())
}

/// What a lookalike character does to an address, in words.
fn lookalike_reason(c: char) -> String {
    let nfkc = icu_normalizer::ComposingNormalizerBorrowed::new_nfkc();
    let reads = nfkc.normalize(&c.to_string()).to_lowercase();
    if crate::text::is_invisible(c) {
        "shows as nothing".to_string()
    } else if matches!(c, 'ı' | 'İ') {
        "reads as `i` but is another character".to_string()
    } else if reads == c.to_string() {
        "joins the letter before it: a reader sees another address".to_string()
    } else {
        format!("reads as `{reads}` but is another character")
    }
}

/// Emails whose NFKC or case-folded form differs from their plain lower
/// case: a warning naming the character.
fn emails_as_they_look(desired: &Desired, index: &Index<'_>, diagnostics: &mut Vec<Diagnostic>) {
    for (key, u) in &desired.users {
        let (Some(c), Some(pos)) = (unplain(&u.email), index.users.get(key)) else {
            continue;
        };
        diagnostics.push(
            Diagnostic::warning(format!(
                "`{}` is a lookalike: {} {}",
                crate::text::clean(&u.email),
                match crate::text::is_invisible(c) {
                    true => format!("U+{:04X}", c as u32),
                    false => format!("`{c}` (U+{:04X})", c as u32),
                },
                lookalike_reason(c)
            ))
            .at(*pos, format!("users[{:?}]", u.email))
            .hint("it makes another user than the one it looks like: retype the address in plain letters"),
        );
    }
}

/// An entry that `ignore` or `protect` covers has no effect: likely a mistake.
fn managed_not_ignored(desired: &Desired, index: &Index<'_>, diagnostics: &mut Vec<Diagnostic>) {
    let roles = desired.roles.iter().map(|(key, r)| {
        let sel = (&desired.ignore.roles, &desired.protect.roles);
        ("role", "roles", r.name.as_str(), index.roles.get(key), sel)
    });
    let users = desired.users.iter().map(|(key, u)| {
        let sel = (&desired.ignore.users, &desired.protect.users);
        ("user", "users", u.email.as_str(), index.users.get(key), sel)
    });
    for (kind, section, name, pos, (ignore, protect)) in roles.chain(users) {
        let Some(pos) = pos else { continue };
        let path = format!("{section}[{name:?}]");
        if let Some(pattern) = ignore.first_match(name) {
            diagnostics.push(
                Diagnostic::warning(format!(
                    "{kind} `{name}` matches `ignore.{section}` pattern `{pattern}`"
                ))
                .at(*pos, path)
                .hint(format!("ignored {section} are invisible to plan, so this entry has no effect: remove it or narrow the pattern")),
            );
        } else if let Some(pattern) = protect.first_match(name) {
            diagnostics.push(
                Diagnostic::warning(format!(
                    "{kind} `{name}` matches `protect.{section}` pattern `{pattern}`"
                ))
                .at(*pos, path)
                .hint("rolecall never changes protected objects, so this entry has no effect on the site"),
            );
        }
    }
}
