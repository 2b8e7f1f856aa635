//! The live site written as a config that plans to no changes against it:
//! what `rolecall export` writes, one file or a directory layout. Sorted and
//! deterministic, so a nightly export into git shows real changes only.
//!
//! The YAML is written by hand (the YAML crate is confined to `load`):
//! The YAML writer (`adopt::yaml`) quotes whatever YAML would not read back as the same text.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::PathBuf;

use super::yaml::{flow_list, quoted, scalar};
use crate::config::vocab::{ADMIN, EVERYONE, key};
use crate::kinds::ObjectKind;
use crate::live::{Live, LiveRole, LiveUser};
use crate::text::clean;

/// How users are laid out in a directory export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SplitUsers {
    /// `users/users.yaml`.
    #[default]
    OneFile,
    /// `users/<domain>.yaml`.
    ByDomain,
}

/// One file, or a directory of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// One file: `rolecall.yaml`.
    File,
    /// A directory: `rolecall.yaml`, one file per role under `roles/`, users as [`SplitUsers`] says.
    Dir(SplitUsers),
}

/// What to write.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// The site's name.
    pub site: String,
    /// The admin every write names.
    pub actor: String,
    /// One file or a directory.
    pub layout: Layout,
}

/// The Admin members of the site, sorted.
pub fn admins(live: &Live) -> Vec<String> {
    let Some(admin) = live.roles.iter().find(|r| key(&r.name) == key(ADMIN)) else {
        return Vec::new();
    };
    let mut admins: Vec<String> = live
        .users
        .iter()
        .filter(|u| u.roles.contains(&admin.id))
        .map(|u| u.email.clone())
        .collect();
    admins.sort_by_key(|e| key(e));
    admins
}

/// The actor when none is given: the only Admin member. Otherwise the
/// Admin members (none or several), sorted, for the error.
pub fn default_actor(live: &Live) -> Result<String, Vec<String>> {
    let admins = admins(live);
    match admins.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(admins),
    }
}

/// What a config does not manage, to adopt into it: the users and roles
/// named (by case-folded email and role name), as one file of entries
/// without settings (a file of the config directory may hold no settings).
pub fn export_unmanaged(
    live: &Live,
    users: &std::collections::BTreeSet<String>,
    roles: &std::collections::BTreeSet<String>,
) -> String {
    let names = Names::new(live);
    let mut picked_roles: Vec<&LiveRole> = live
        .roles
        .iter()
        .filter(|r| exported(r) && roles.contains(&key(&r.name)))
        .collect();
    picked_roles.sort_by_key(|r| key(&r.name));
    let mut picked_users: Vec<&LiveUser> = live
        .users
        .iter()
        .filter(|u| users.contains(&key(&u.email)))
        .collect();
    picked_users.sort_by_key(|u| key(&u.email));
    let mut text = String::from(
        "# Written by `rolecall export --only-unmanaged`: users and roles of the site\n\
         # that the config did not manage, as they are. Review, then commit.\n",
    );
    if !picked_roles.is_empty() {
        text.push_str("\nroles:\n");
        picked_roles
            .iter()
            .for_each(|r| text.push_str(&role_block(r, &names)));
    }
    if !picked_users.is_empty() {
        text.push_str("\nusers:\n");
        picked_users
            .iter()
            .for_each(|u| text.push_str(&user_block(u, &names)));
    }
    text
}

/// The site as config files: relative path and text, sorted by path.
pub fn export(live: &Live, options: &ExportOptions) -> Vec<(PathBuf, String)> {
    let names = Names::new(live);
    let mut roles: Vec<&LiveRole> = live.roles.iter().filter(|r| exported(r)).collect();
    roles.sort_by_key(|r| key(&r.name));
    let mut users: Vec<&LiveUser> = live.users.iter().collect();
    users.sort_by_key(|u| key(&u.email));
    let head = settings(options);
    match options.layout {
        Layout::File => {
            let mut text = head;
            if !roles.is_empty() {
                text.push_str("\nroles:\n");
                roles
                    .iter()
                    .for_each(|r| text.push_str(&role_block(r, &names)));
            }
            text.push_str("\nusers:\n");
            users
                .iter()
                .for_each(|u| text.push_str(&user_block(u, &names)));
            vec![(PathBuf::from("rolecall.yaml"), text)]
        }
        Layout::Dir(split) => {
            let mut files = vec![(PathBuf::from("rolecall.yaml"), head)];
            let mut taken = HashMap::new();
            for r in &roles {
                let path = PathBuf::from("roles").join(file_name(&r.name, &mut taken));
                files.push((path, format!("roles:\n{}", role_block(r, &names))));
            }
            files.extend(user_files(&users, split, &names));
            files.sort_by(|a, b| a.0.cmp(&b.0));
            files
        }
    }
}

/// The lock of an export: each dashboard a grant is written under by name,
/// pinned to its id.
pub fn lock(live: &Live, site: &str) -> crate::config::lock::Lock {
    let names = Names::new(live);
    let pins = live
        .roles
        .iter()
        .filter(|r| exported(r))
        .flat_map(|r| r.grants.keys())
        .filter(|o| o.kind == ObjectKind::Dashboard)
        .map(|o| &o.id)
        .filter_map(|id| {
            let (written, _) = names.dashboard_key(id);
            let name = names.dashboards.get(id.as_str())?;
            (written == scalar(name)).then(|| (name.to_string(), id.clone()))
        })
        .collect();
    crate::config::lock::Lock::new(site, pins)
}

/// Everyone is implied; it is listed only when it grants something or has
/// a description (then the config manages it).
fn exported(role: &LiveRole) -> bool {
    key(&role.name) != key(EVERYONE)
        || !role.description.is_empty()
        || role.privileges.values().any(|a| !a.is_empty())
        || role.grants.values().any(|a| !a.is_empty())
}

fn settings(options: &ExportOptions) -> String {
    format!(
        "# yaml-language-server: $schema=rolecall.schema.json\n\
         # Written by `rolecall export`: the site as it was, as a config that plans to\n\
         # no changes. `rolecall schema > rolecall.schema.json` writes the schema.\n\
         site: {}\n\
         actor: {}\n\
         \n\
         # Live users and roles this config does not list are left alone. Once the\n\
         # config is complete, choose what happens to them:\n\
         # prune:\n\
         #   users: delete   # or strip: keep the account, take every role\n\
         #   roles: delete\n",
        scalar(&options.site),
        scalar(&options.actor)
    )
}

/// Role and dashboard names by id, and which dashboard names are unique.
struct Names<'a> {
    roles: HashMap<&'a str, &'a str>,
    dashboards: HashMap<&'a str, &'a str>,
    dashboard_count: HashMap<&'a str, usize>,
}

impl<'a> Names<'a> {
    fn new(live: &'a Live) -> Self {
        let mut dashboard_count = HashMap::new();
        for d in live.objects_of(ObjectKind::Dashboard) {
            *dashboard_count.entry(d.name.as_str()).or_insert(0) += 1;
        }
        Self {
            roles: live
                .roles
                .iter()
                .map(|r| (r.id.as_str(), r.name.as_str()))
                .collect(),
            dashboards: live
                .objects_of(ObjectKind::Dashboard)
                .map(|d| (d.id.as_str(), d.name.as_str()))
                .collect(),
            dashboard_count,
        }
    }

    /// The key a grant is written under, and a comment when it is an id.
    fn dashboard_key(&self, id: &str) -> (String, Option<String>) {
        match self.dashboards.get(id) {
            Some(name)
                if self.dashboard_count[name] == 1
                    && !name.trim_start().starts_with('#')
                    && !name.trim().is_empty()
                    && name.trim() == *name =>
            {
                (scalar(name), None)
            }
            Some(name) => (quoted(&format!("#{id}")), Some(clean(name).into_owned())),
            None => (quoted(&format!("#{id}")), None),
        }
    }
}

fn role_block(role: &LiveRole, names: &Names<'_>) -> String {
    let mut out = format!("  {}:\n", scalar(&role.name));
    if !role.kept.is_empty() {
        // One line, every character escaped: a comment is no way out.
        let types: Vec<String> = (role.kept.object_types().iter())
            .map(|t| crate::text::clean(t).into_owned())
            .collect();
        let _ = writeln!(
            out,
            "    # also holds {} on {} that rolecall does not manage: kept as they are",
            crate::diagnostic::plural(role.kept.count(), "right"),
            types.join(", ").replace(['\n', '\r'], " ")
        );
    }
    if !role.description.is_empty() {
        let _ = writeln!(out, "    description: {}", scalar(&role.description));
    }
    if key(&role.name) == key(ADMIN) {
        // Admin's rights are the site's: only its description is managed.
        if role.description.is_empty() {
            out.push_str("    # Admin's privileges are not managed by rolecall\n");
        }
        return out;
    }
    let privileges: BTreeMap<&String, _> = role
        .privileges
        .iter()
        .filter(|(_, a)| !a.is_empty())
        .collect();
    if !privileges.is_empty() {
        out.push_str("    privileges:\n");
        for (ty, actions) in privileges {
            let _ = writeln!(out, "      {}: {}", scalar(ty), flow_list(actions));
        }
    }
    let mut grants: Vec<(String, Option<String>, String)> = role
        .grants
        .iter()
        .filter(|(o, a)| o.kind == ObjectKind::Dashboard && !a.is_empty())
        .map(|(o, actions)| {
            let (k, comment) = names.dashboard_key(&o.id);
            (k, comment, flow_list(actions))
        })
        .collect();
    grants.sort();
    if !grants.is_empty() {
        out.push_str("    dashboards:\n");
        for (k, comment, actions) in grants {
            let comment = comment.map_or_else(String::new, |c| format!("  # {c}"));
            let _ = writeln!(out, "      {k}: {actions}{comment}");
        }
    }
    out
}

fn user_block(user: &LiveUser, names: &Names<'_>) -> String {
    let mut out = format!("  {}:\n", scalar(&user.email));
    // An empty name is left out: the site keeps it (and the config could
    // not say it).
    for (field, value) in [
        ("first_name", &user.first_name),
        ("last_name", &user.last_name),
    ] {
        if !value.trim().is_empty() {
            let _ = writeln!(out, "    {field}: {}", scalar(value));
        }
    }
    let mut roles: Vec<String> = user
        .roles
        .iter()
        .filter_map(|id| names.roles.get(id.as_str()))
        .filter(|n| key(n) != key(EVERYONE))
        .map(|n| n.to_string())
        .collect();
    roles.sort_by_key(|n| key(n));
    if !roles.is_empty() {
        let _ = writeln!(out, "    roles: {}", flow_list(&roles));
    }
    out
}

fn user_files(users: &[&LiveUser], split: SplitUsers, names: &Names<'_>) -> Vec<(PathBuf, String)> {
    let mut groups: BTreeMap<String, String> = BTreeMap::new();
    for u in users {
        let group = match split {
            SplitUsers::OneFile => "users".to_string(),
            SplitUsers::ByDomain => u
                .email
                .rsplit_once('@')
                .map_or("users", |(_, d)| d)
                .to_lowercase(),
        };
        groups
            .entry(group)
            .or_insert_with(|| "users:\n".to_string())
            .push_str(&user_block(u, names));
    }
    let mut taken = HashMap::new();
    groups
        .into_iter()
        .map(|(group, text)| {
            (
                PathBuf::from("users").join(file_name(&group, &mut taken)),
                text,
            )
        })
        .collect()
}

/// A file name for a role or a domain: lower case, letters, digits, `-` and
/// `.`; a clash gets `-2`, `-3`.
fn file_name(name: &str, taken: &mut HashMap<String, usize>) -> String {
    let mut slug: String = name
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    slug = slug.trim_matches(|c| c == '-' || c == '.').to_string();
    if slug.is_empty() {
        slug = "role".into();
    }
    let n = taken.entry(slug.clone()).or_insert(0);
    *n += 1;
    if *n > 1 {
        slug = format!("{slug}-{n}");
    }
    format!("{slug}.yaml")
}

/// The site with stable pseudonyms for what identifies people: emails
/// (`user-1a2b3c4d@d5e6f.example`) and first and last names. The same input
/// gives the same output, so a copy of a site can be shared for a rehearsal
/// and exported again. Roles and dashboards keep their names.
pub fn redact(live: &Live) -> Live {
    let tag = |text: &str, n: usize| crate::live::checksum(&text.to_lowercase())[..n].to_string();
    let mut live = live.clone();
    for u in &mut live.users {
        let domain = u.email.rsplit_once('@').map_or("", |(_, d)| d).to_string();
        u.email = format!("user-{}@d{}.example", tag(&u.email, 8), tag(&domain, 5));
        if !u.first_name.is_empty() {
            u.first_name = format!("First{}", tag(&u.first_name, 4));
        }
        if !u.last_name.is_empty() {
            u.last_name = format!("Last{}", tag(&u.last_name, 4));
        }
    }
    live
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_read_back_as_themselves() {
        for (text, written) in [
            ("Data Analyst", "Data Analyst"),
            ("jane@acme.com", "jane@acme.com"),
            ("true", "\"true\""),
            ("No", "\"No\""),
            ("2024", "\"2024\""),
            ("1e3", "\"1e3\""),
            ("#sales", "\"#sales\""),
            ("a: b", "\"a: b\""),
            ("x #y", "\"x #y\""),
            ("", "\"\""),
            (" lead", "\" lead\""),
            ("say \"hi\"", "\"say \\\"hi\\\"\""),
            ("line\nbreak", "\"line\\nbreak\""),
            ("Zürich", "Zürich"),
        ] {
            assert_eq!(scalar(text), written, "{text:?}");
        }
    }

    /// Random sites, exported, load back as configs that plan to no
    /// changes; through one file and through a directory.
    mod round_trip {
        use std::collections::{BTreeMap, BTreeSet};

        use proptest::prelude::*;

        use super::super::*;
        use crate::config::load::load_texts;
        use crate::live::LiveObject;
        use crate::plan::{Selection, diff};

        const ROLE_NAMES: &[&str] = &[
            "Analyst",
            "true",
            "2024",
            "#hash",
            "a: b",
            "O'Brien & Co",
            "Zürich Team",
            "Data [EU]",
            "x,y",
            "Read",
            "no",
            "Finance",
            "1e3",
            "Ops/Infra",
            "\"quoted\"",
        ];
        const DASHBOARD_NAMES: &[&str] = &[
            "Revenue",
            "Revenue",
            "#42",
            "null",
            " spaced",
            "Board: Pack",
            "Ünïcode",
            "3.14",
        ];
        const TEXT: &[&str] = &[
            "",
            "Writes SQL",
            "multi\nline",
            "quote \" and \\",
            "#not a comment",
            "true",
            "Zoë",
            "123",
            "Ann-Marie",
            "O'Neil",
        ];
        const ACTIONS: &[&str] = &[
            "read_dashboards",
            "create_sql_charts",
            "download_pdf",
            "email_reports",
        ];

        fn set(items: &[&str]) -> BTreeSet<String> {
            items.iter().map(|s| s.to_string()).collect()
        }

        fn live() -> impl Strategy<Value = Live> {
            let roles = prop::sample::subsequence(ROLE_NAMES.to_vec(), 0..ROLE_NAMES.len());
            let grants = prop::collection::vec(
                (
                    prop::sample::subsequence(ACTIONS.to_vec(), 0..3),
                    prop::collection::vec(
                        (
                            0..DASHBOARD_NAMES.len(),
                            prop::sample::subsequence(ACTIONS.to_vec(), 0..3),
                        ),
                        0..3,
                    ),
                    prop::sample::select(TEXT.to_vec()),
                ),
                ROLE_NAMES.len(),
            );
            let users = prop::collection::vec(
                (
                    prop::sample::select(TEXT.to_vec()),
                    prop::sample::select(TEXT.to_vec()),
                    prop::collection::vec(any::<bool>(), ROLE_NAMES.len() + 1),
                ),
                1..12,
            );
            (roles, grants, users).prop_map(|(names, grants, users)| {
                let dashboards: Vec<LiveObject> = DASHBOARD_NAMES
                    .iter()
                    .enumerate()
                    .map(|(i, n)| LiveObject::dashboard(format!("{}", 100 + i), *n))
                    .collect();
                let mut roles = vec![
                    LiveRole {
                        id: "r-admin".into(),
                        name: "Admin".into(),
                        description: "".into(),
                        privileges: BTreeMap::from([(
                            "Dashboard".into(),
                            set(&["read_dashboards"]),
                        )]),
                        grants: BTreeMap::new(),
                        kept: Default::default(),
                    },
                    LiveRole {
                        id: "r-every".into(),
                        name: "Everyone".into(),
                        description: "".into(),
                        privileges: BTreeMap::new(),
                        grants: BTreeMap::new(),
                        kept: Default::default(),
                    },
                ];
                for (i, name) in names.iter().enumerate() {
                    let (privileges, dash, description) = &grants[i];
                    roles.push(LiveRole {
                        id: format!("r{i}"),
                        name: name.to_string(),
                        description: description.to_string(),
                        privileges: if privileges.is_empty() {
                            BTreeMap::new()
                        } else {
                            BTreeMap::from([("Dashboard".into(), set(privileges))])
                        },
                        grants: dash
                            .iter()
                            .filter(|(_, a)| !a.is_empty())
                            .map(|(d, a)| {
                                (
                                    crate::kinds::ObjectRef::dashboard(format!("{}", 100 + d)),
                                    set(a),
                                )
                            })
                            .collect(),
                        kept: Default::default(),
                    });
                }
                let emails = [
                    "admin@acme.com",
                    "jäne@acme.com",
                    "o'brien@acme.com",
                    "bob+x@sub.acme.co.uk",
                    "TRUE@acme.com",
                    "123@acme.com",
                ];
                let users = users
                    .iter()
                    .enumerate()
                    .map(|(i, (first, last, member))| {
                        let email = emails
                            .get(i)
                            .map_or_else(|| format!("user{i}@acme.com"), |e| e.to_string());
                        let mut ids: BTreeSet<String> = roles
                            .iter()
                            .skip(2)
                            .zip(member)
                            .filter(|(_, m)| **m)
                            .map(|(r, _)| r.id.clone())
                            .collect();
                        ids.insert("r-every".into());
                        if i == 0 || member[ROLE_NAMES.len()] {
                            ids.insert("r-admin".into());
                        }
                        LiveUser {
                            id: format!("u{i}"),
                            email,
                            first_name: first.to_string(),
                            last_name: last.to_string(),
                            roles: ids,
                        }
                    })
                    .collect();
                Live {
                    users,
                    roles,
                    objects: dashboards,
                }
            })
        }

        fn plan_of(files: Vec<(PathBuf, String)>, live: &Live) -> Result<usize, String> {
            let loaded = load_texts(files).map_err(|e| {
                e.diagnostics
                    .iter()
                    .map(|d| d.render(&e.sources, false))
                    .collect::<String>()
            })?;
            let plan = diff(
                &loaded.desired,
                &loaded.sources,
                live,
                &Selection::default(),
            )
            .map_err(|e| {
                e.iter()
                    .map(|d| d.render(&loaded.sources, false))
                    .collect::<String>()
            })?;
            Ok(plan.changes.len())
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(300))]

            #[test]
            fn an_export_plans_to_no_changes(live in live()) {
                for layout in [Layout::File, Layout::Dir(SplitUsers::OneFile), Layout::Dir(SplitUsers::ByDomain)] {
                    let options = ExportOptions { site: "acme".into(), actor: "admin@acme.com".into(), layout };
                    let files = export(&live, &options);
                    let text: String = files.iter().map(|(p, t)| format!("--- {}\n{t}", p.display())).collect();
                    match plan_of(files, &live) {
                        Ok(n) => prop_assert_eq!(n, 0, "{}", text),
                        Err(e) => prop_assert!(false, "{}\n{}", e, text),
                    }
                }
            }
        }
    }
}
