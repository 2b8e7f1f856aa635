//! `users:`: each user's names and memberships.

use super::*;

impl Converter<'_> {
    pub(super) fn users(&mut self, v: &Node, frag: &mut Fragment) {
        let upath = ROOT.field("users");
        let Some(entries) = self.map(v, &upath, "a mapping of emails to users") else {
            return;
        };
        for (k, v) in entries {
            let Some(email) = self.key(k, &upath, "an email address") else {
                continue;
            };
            let path = upath.key(&email);
            if !vocab::is_email(&email) {
                let hint =
                    if ROLE_KEYS.contains(&email.as_str()) || USER_KEYS.contains(&email.as_str()) {
                        "this looks like a field: it belongs under a user, indented below its email"
                            .to_string()
                    } else {
                        "users are keyed by their email address, e.g. `jane@acme.com:`".to_string()
                    };
                self.error(k, &path, format!("`{email}` is not an email address"))
                    .hint = Some(hint);
                continue;
            }
            if let Some(mut user) = self.user(&email, k.pos, v, &path) {
                user.shared = k.shared || v.shared;
                frag.users.push((k.pos, user));
            }
        }
    }

    /// `first_name` / `last_name`: absent when null. The site refuses empty
    /// names; say so before anything is sent.
    pub(super) fn name(&mut self, field: &str, v: &Node, fpath: &YPath<'_>) -> Option<String> {
        if v.is_null() {
            return None;
        }
        let name = self.string(v, fpath, "a name (a string)")?;
        if name.trim().is_empty() {
            self.error(v, fpath, format!("`{field}` cannot be empty"))
                .hint = Some(format!(
                "write the name, or leave `{field}` out to keep the name the site has"
            ));
            return None;
        }
        Some(name)
    }

    /// A user's `roles:`, keyed case-insensitively; Everyone left out.
    pub(super) fn user_roles(
        &mut self,
        v: &Node,
        fpath: &YPath<'_>,
    ) -> BTreeMap<String, Membership> {
        let mut roles = BTreeMap::new();
        let Some(items) = self.list(v, fpath, "a list of role names") else {
            return roles;
        };
        for (i, item) in items.iter().enumerate() {
            let ipath = fpath.index(i);
            let Some((role, until, reason, at)) = self.membership(item, &ipath) else {
                continue;
            };
            let key = vocab::key(&role);
            if key == vocab::key(vocab::EVERYONE) {
                // Every user is in Everyone; listing it changes nothing.
                continue;
            }
            if roles.contains_key(&key) {
                self.warning(item, &ipath, format!("role `{role}` is listed twice"))
                    .hint = Some("role names are compared case-insensitively; remove one".into());
                continue;
            }
            let origin = self.origin(at);
            let rref = Membership {
                name: role,
                until,
                reason,
                index: i,
                origin,
            };
            roles.insert(key, rref);
        }
        roles
    }

    /// One item of a user's `roles:`: a role name, or a membership that
    /// ends, `{role: Auditor, until: 2027-01-31, reason: "SOX audit"}`.
    pub(super) fn membership(
        &mut self,
        item: &Node,
        ipath: &YPath<'_>,
    ) -> Option<(String, Option<Date>, Option<String>, Pos)> {
        let NodeKind::Map(entries) = &item.kind else {
            let role = self.string(
                item,
                ipath,
                "a role name, or `{role: NAME, until: YYYY-MM-DD}`",
            )?;
            return Some((role, None, None, item.pos));
        };
        let (mut role, mut until, mut reason, mut at) = (None, None, None, item.pos);
        for (field, _, v) in self.fields::<MembershipField>(entries, ipath, |_| None) {
            let fpath = ipath.field(field.name());
            match field {
                MembershipField::Role => {
                    role = self.string(v, &fpath, "a role name");
                    at = v.pos;
                }
                MembershipField::Until => {
                    let text = self.string(v, &fpath, "a date, `YYYY-MM-DD`")?;
                    match Date::parse(&text) {
                        Ok(date) => until = Some(date),
                        Err(why) => {
                            self.error(v, &fpath, why).hint = Some(
                                "the membership ends after this day (UTC): `until: 2027-01-31`"
                                    .into(),
                            );
                            return None;
                        }
                    }
                }
                MembershipField::Reason => reason = self.string(v, &fpath, "a reason (text)"),
            }
        }
        let Some(role) = role else {
            self.error(item, ipath, "a membership needs its `role`")
                .hint = Some("write `{role: Auditor, until: 2027-01-31}`".into());
            return None;
        };
        Some((role, until, reason, at))
    }

    pub(super) fn user(
        &mut self,
        email: &str,
        pos: Pos,
        v: &Node,
        path: &YPath<'_>,
    ) -> Option<User> {
        let expected = "a user: a mapping with `first_name`, `last_name`, `roles`";
        if let NodeKind::Seq(_) = &v.kind {
            let hint = "put the list under `roles:`, e.g. `jane@acme.com: {roles: [Data Analyst]}`";
            self.wrong_type(v, path, expected, Some(hint.into()));
            return None;
        }
        let entries = self.map(v, path, expected)?;
        let mut user = User {
            email: email.to_string(),
            first_name: None,
            last_name: None,
            roles: BTreeMap::new(),
            origin: self.origin(pos),
            admin_allowed: true,
            shared: false,
        };
        let hint = |key: &str| match key {
            "role" | "groups" | "teams" => Some("did you mean `roles`?".to_string()),
            "name" | "full_name" => Some("write `first_name` and `last_name`".to_string()),
            _ => None,
        };
        for (field, _, v) in self.fields::<UserField>(entries, path, hint) {
            let fpath = path.field(field.name());
            match field {
                UserField::FirstName => user.first_name = self.name(field.name(), v, &fpath),
                UserField::LastName => user.last_name = self.name(field.name(), v, &fpath),
                UserField::Roles => user.roles = self.user_roles(v, &fpath),
            }
        }
        Some(user)
    }
}
