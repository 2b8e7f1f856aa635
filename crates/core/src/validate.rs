//! Checks across the whole merged config, after each file has been checked on
//! its own. Each check is a named function; all of them run.

use std::collections::{BTreeMap, HashMap};

use crate::diagnostic::{Diagnostic, Pos, did_you_mean};
use crate::load::Index;
use crate::model::Desired;
use crate::vocab;

type Check = fn(&Desired, &Index<'_>, &mut Vec<Diagnostic>);

/// Every whole-config check, by name.
const CHECKS: &[(&str, Check)] = &[
    ("user roles exist", user_roles_exist),
    ("renames do not collide", renames_do_not_collide),
    ("actor keeps Admin", actor_keeps_admin),
    ("Admin's rights are not managed", admin_rights_not_managed),
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
            let Some(pos) = index
                .sources
                .pos_of(&role.origin, role.name.chars().count())
            else {
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
                Diagnostic {
                    code: Some(crate::diagnostic::UNDEFINED_ROLE),
                    ..warning.hint(hint)
                }
            };
            diagnostics.push(diagnostic.at(pos, path));
        }
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
            role.dashboards.values().any(|g| !g.actions.is_empty()),
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
