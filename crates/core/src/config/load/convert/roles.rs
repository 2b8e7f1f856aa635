//! `roles:`: each role's description, privileges, grants and old names.

use super::*;

impl Converter<'_> {
    pub(super) fn roles(&mut self, v: &Node, frag: &mut Fragment) {
        let rpath = ROOT.field("roles");
        let Some(entries) = self.map(v, &rpath, "a mapping of role names to roles") else {
            frag.roles_incomplete = true;
            return;
        };
        for (k, v) in entries {
            let Some(name) = self.key(k, &rpath, "a role name") else {
                frag.roles_incomplete = true;
                continue;
            };
            let path = rpath.key(&name);
            if name.trim().is_empty() || name.trim() != name {
                frag.roles_incomplete = true;
                self.error(
                    k,
                    &path,
                    "a role name cannot be empty or start or end with spaces",
                )
                .hint = Some("write the name as it should appear on the site".into());
                continue;
            }
            // Kept even when it has errors (the load fails anyway), so that
            // whole-config checks such as duplicates still see it.
            if let Some(mut role) = self.role(&name, k.pos, v, &path, frag) {
                role.shared = k.shared || v.shared;
                frag.roles.push((k.pos, role));
            }
        }
    }

    pub(super) fn role(
        &mut self,
        name: &str,
        pos: Pos,
        v: &Node,
        path: &YPath<'_>,
        frag: &mut Fragment,
    ) -> Option<Role> {
        let entries = self.map(
            v,
            path,
            "a role: a mapping with `description`, `privileges`, `dashboards`",
        )?;
        let mut role = Role {
            name: name.to_string(),
            description: String::new(),
            privileges: BTreeMap::new(),
            grants: BTreeMap::new(),
            renamed_from: Vec::new(),
            origin: self.origin(pos),
            shared: false,
        };
        let hint = |key: &str| {
            vocab::ACTIONS
                .contains(&key)
                .then(|| format!("actions go under `privileges: {{Dashboard: [{key}]}}` or under a dashboard in `dashboards`"))
        };
        for (field, _, v) in self.fields::<RoleField>(entries, path, hint) {
            let fpath = path.field(field.name());
            match field {
                RoleField::Description => {
                    if !v.is_null() {
                        role.description = self
                            .string(v, &fpath, "a description (a string)")
                            .unwrap_or_default();
                    }
                }
                RoleField::Privileges => role.privileges = self.privileges(v, &fpath),
                RoleField::Dashboards => role.grants.extend(
                    (self.dashboards(v, &fpath).into_iter())
                        .map(|(name, grant)| (ObjectName::dashboard(name), grant)),
                ),
                RoleField::RenamedFrom => {
                    role.renamed_from = self.renamed_from(name, v, &fpath, frag);
                }
            }
        }
        Some(role)
    }

    /// `privileges:`: actions per object type.
    pub(super) fn privileges(
        &mut self,
        v: &Node,
        fpath: &YPath<'_>,
    ) -> BTreeMap<String, BTreeSet<String>> {
        let mut privileges = BTreeMap::new();
        let Some(types) = self.map(
            v,
            fpath,
            "a mapping of object types to lists of actions, e.g. `Dashboard: [read_dashboards]`",
        ) else {
            return privileges;
        };
        let mut seen: BTreeMap<String, Pos> = BTreeMap::new();
        for (tk, tv) in types {
            let Some(ty) = self.key(tk, fpath, "an object type") else {
                continue;
            };
            let tpath = fpath.key(&ty);
            if !vocab::OBJECT_TYPES.contains(&ty.as_str()) {
                self.error(tk, &tpath, format!("unknown object type `{ty}`"))
                    .hint = Some(object_type_hint(&ty));
                continue;
            }
            if let Some(first) = seen.insert(ty.clone(), tk.pos) {
                self.given_twice(tk, &tpath, first, format!("object type `{ty}`"));
                continue;
            }
            let actions = self.actions(tv, &tpath);
            privileges.insert(ty, actions);
        }
        privileges
    }

    /// `dashboards:`: actions per dashboard name or `#<id>`.
    pub(super) fn dashboards(
        &mut self,
        v: &Node,
        fpath: &YPath<'_>,
    ) -> BTreeMap<NameOrId, ObjectGrant> {
        let mut dashboards = BTreeMap::new();
        let Some(dashes) = self.map(
            v,
            fpath,
            "a mapping of dashboards (names or `\"#<id>\"`) to lists of actions",
        ) else {
            return dashboards;
        };
        let mut seen: BTreeMap<NameOrId, Pos> = BTreeMap::new();
        for (dk, dv) in dashes {
            let Some(dref) = self.dashboard_ref(dk, fpath) else {
                continue;
            };
            let dname = dref.to_string();
            let dpath = fpath.key(&dname);
            if let Some(first) = seen.insert(dref.clone(), dk.pos) {
                self.given_twice(dk, &dpath, first, format!("dashboard `{dref}`"));
                continue;
            }
            let actions = self.actions(dv, &dpath);
            let origin = self.origin(dk.pos);
            dashboards.insert(dref, ObjectGrant { actions, origin });
        }
        dashboards
    }

    /// An entry given twice in one role: an error pointing at both.
    pub(super) fn given_twice(&mut self, node: &Node, path: &YPath<'_>, first: Pos, what: String) {
        let d = self.error(node, path, format!("{what} is given twice in this role"));
        d.related.push((first, "first given here".into()));
        d.hint = Some("merge the two lists of actions into one".into());
    }

    /// `renamed_from:`: the old names of role `name`.
    pub(super) fn renamed_from(
        &mut self,
        name: &str,
        v: &Node,
        fpath: &YPath<'_>,
        frag: &mut Fragment,
    ) -> Vec<String> {
        let mut renamed = Vec::new();
        let Some(items) = self.list(v, fpath, "a list of role names") else {
            return renamed;
        };
        for (i, item) in items.iter().enumerate() {
            let ipath = fpath.index(i);
            let Some(old) = self.string(item, &ipath, "a role name") else {
                continue;
            };
            if vocab::key(&old) == vocab::key(name) {
                self.error(
                    item,
                    &ipath,
                    format!("role `{name}` cannot be renamed from itself"),
                )
                .hint = Some("remove this entry".into());
            } else if vocab::is_builtin_role(&old) {
                self.error(item, &ipath, format!("the `{old}` role cannot be renamed"))
                    .hint = Some(format!(
                    "`{}` and `{}` always exist on a site; define a new role instead",
                    vocab::ADMIN,
                    vocab::EVERYONE
                ));
            } else if old.trim().is_empty() {
                self.error(item, &ipath, "a role name cannot be empty");
            } else {
                frag.refs.renames.push(RefSite {
                    owner: vocab::key(name),
                    name: old.clone(),
                    pos: item.pos,
                    path: ipath.to_string(),
                });
                renamed.push(old);
            }
        }
        renamed
    }

    pub(super) fn dashboard_ref(&mut self, k: &Node, path: &YPath<'_>) -> Option<NameOrId> {
        let text = self.key(k, path, "a dashboard name or `\"#<id>\"`")?;
        let kpath = path.key(&text);
        if let NodeKind::Scalar(s) = &k.kind
            && s.ty() == ScalarType::Int
        {
            self.error(k, &kpath, format!("dashboard key `{text}` is a number"))
                .hint = Some(format!(
                "write `\"#{text}\"` for the dashboard with id {text}, or quote the name: `\"{text}\"`"
            ));
            return None;
        }
        if let Some(id) = text.strip_prefix('#') {
            // `"#4711"` is an id; `"#1 Priorities"` is a name that starts
            // with `#` (resolved by name when no dashboard has that id).
            if crate::config::lock::is_id(id) {
                return Some(NameOrId::Id(id.to_string()));
            }
            if id.trim().is_empty() {
                self.error(k, &kpath, format!("`{text}` is not a dashboard id"))
                    .hint = Some("a dashboard id is written `\"#4711\"`: `#` and the id, quoted (unquoted, `#` starts a comment)".into());
                return None;
            }
        }
        if text.trim().is_empty() {
            self.error(k, &kpath, "a dashboard name cannot be empty")
                .hint =
                Some("write the dashboard's name as the site shows it, or `\"#<id>\"`".into());
            return None;
        }
        Some(NameOrId::Name(text))
    }

    pub(super) fn actions(&mut self, v: &Node, path: &YPath<'_>) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let Some(items) = self.list(v, path, "a list of actions") else {
            return out;
        };
        for (i, item) in items.iter().enumerate() {
            let ipath = path.index(i);
            let Some(action) = self.string(item, &ipath, "an action name") else {
                continue;
            };
            if !vocab::is_action(&action) {
                let hint = match did_you_mean(&action, vocab::ACTIONS.iter().copied()) {
                    Some(m) => format!("did you mean `{m}`?"),
                    None => format!("known actions: {}", backticks(vocab::ACTIONS)),
                };
                self.error(item, &ipath, format!("unknown action `{action}`"))
                    .hint = Some(hint);
                continue;
            }
            if !out.insert(action.clone()) {
                self.warning(item, &ipath, format!("action `{action}` is listed twice"))
                    .hint = Some("remove one of them".into());
            }
        }
        out
    }
}

/// What to write instead of an unknown object type.
fn object_type_hint(ty: &str) -> String {
    if vocab::ACTIONS.contains(&ty) {
        return format!("privileges are grouped by object type: `Dashboard: [{ty}]`");
    }
    did_you_mean(ty, vocab::OBJECT_TYPES.iter().copied())
        .map(|m| format!("did you mean `{m}`?"))
        .unwrap_or_else(|| format!("known object types: {}", backticks(vocab::OBJECT_TYPES)))
}
