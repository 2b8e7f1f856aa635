//! One site's users, roles and dashboards, and every rule of the API applied
//! to them. Synchronous and without I/O: the HTTP layer calls it under a lock,
//! so each call is atomic (parallel creates of one email make one user).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;

use serde::Deserialize;

use crate::model::{Dashboard, Id, Permission, Privilege, Role, Snapshot, User};

/// Action names the API is known to accept (`docs/periscope-api.md`). Kept
/// apart from rolecall's list on purpose; a test pins the two together.
pub const ACTIONS: &[&str] = &[
    "read_dashboards",
    "create_dashboards",
    "create_discovery_charts",
    "create_sql_charts",
    "edit_chart_as_copy",
    "edit_dashboard_settings",
    "clone_dashboards",
    "archive_dashboards",
    "download_pdf",
    "shared_dashboards",
    "email_reports",
];

pub(crate) const OBJECT_TYPE: &str = "Dashboard";

/// Object types the vendor's docs mention beside dashboards, which rolecall
/// does not manage: grants on them are stored and listed as sent (so that
/// tests can see rolecall keep them).
pub(crate) const OTHER_OBJECT_TYPES: &[&str] = &["Topic", "Space"];

/// An answer other than success: the status and the `{"error": ...}` message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status to answer, such as `400` or `404`.
    pub status: u16,
    /// The text sent as `{"error": message}`.
    pub message: String,
}

impl ApiError {
    /// An error answering `status` with `message`.
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
    fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, message)
    }
    fn not_found(what: &str, id: &str) -> Self {
        Self::new(404, format!("{what} `{id}` not found"))
    }
    fn conflict(message: impl Into<String>) -> Self {
        Self::new(409, message)
    }
    fn forbidden(message: impl Into<String>) -> Self {
        Self::new(403, message)
    }
}

type Result<T> = std::result::Result<T, ApiError>;

/// `POST /api/v2/users`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub roles: Option<Vec<Id>>,
    pub invited_by_email: Option<String>,
}

/// `PUT /api/v2/users/{id}`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub roles: Option<Vec<Id>>,
}

/// `POST /api/v1/roles` and `PUT /api/v1/roles/{id}`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleFields {
    pub name: Option<String>,
    pub description: Option<String>,
    pub privileges: Option<Vec<Privilege>>,
    pub permissions: Option<Vec<Permission>>,
    pub created_by_email: Option<String>,
    pub updated_by_email: Option<String>,
}

/// One page of a list, and the cursor of the next page (the id of its first
/// item), if there is one.
#[derive(Debug)]
pub struct Page<'a, T> {
    pub items: Vec<&'a T>,
    pub next: Option<Id>,
}

/// Opaque, hex-like ids from a seeded generator: stable across runs with the
/// same seed, never sequential-looking.
#[derive(Debug)]
struct IdGen {
    state: u64,
}

impl IdGen {
    fn next(&mut self) -> Id {
        // splitmix64
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Id(format!("{:016x}", z ^ (z >> 31)))
    }
}

/// One site in memory: its users, roles and dashboards, changed only by
/// calls that follow the API's rules.
#[derive(Debug)]
pub struct Site {
    /// The site name.
    pub name: String,
    users: BTreeMap<Id, User>,
    roles: BTreeMap<Id, Role>,
    dashboards: BTreeMap<Id, Dashboard>,
    /// Lower-cased email -> user id.
    emails: HashMap<String, Id>,
    /// Lower-cased role name -> role id.
    role_names: HashMap<String, Id>,
    admin: Id,
    everyone: Id,
    ids: IdGen,
    actions: BTreeSet<String>,
}

fn key(s: &str) -> String {
    s.to_lowercase()
}

/// A plausible email: one `@`, something before it, a dotted domain after
/// it, no spaces, controls or list separators. Kept apart from rolecall's own
/// check on purpose (a shared bug would pass every test); a test pins the two
/// to each other.
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && !s
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, ',' | ';' | '<' | '>'))
}

/// A required, non-empty text field.
fn required(value: Option<String>, field: &str) -> Result<String> {
    match value {
        Some(v) if !v.trim().is_empty() => Ok(v),
        Some(_) => Err(ApiError::bad_request(format!("`{field}` cannot be empty"))),
        None => Err(ApiError::bad_request(format!("missing field `{field}`"))),
    }
}

impl Site {
    /// A new site: the five default roles and one admin user.
    pub fn new(name: &str, seed: u64, extra_actions: &[String]) -> Self {
        let mut site = Self::empty(name, seed, extra_actions);
        let defaults: [(&str, &str, &[&str]); 5] = [
            ("Admin", "Full access to the site", ACTIONS),
            ("Everyone", "Every user of the site", &[]),
            (
                "Analyst",
                "Writes SQL and builds dashboards",
                &[
                    "read_dashboards",
                    "create_dashboards",
                    "create_sql_charts",
                    "create_discovery_charts",
                    "edit_chart_as_copy",
                ],
            ),
            (
                "Business User",
                "Explores dashboards",
                &["read_dashboards", "create_discovery_charts"],
            ),
            ("Read", "Reads dashboards", &["read_dashboards"]),
        ];
        for (role_name, description, actions) in defaults {
            let id = site.ids.next();
            let privileges = if actions.is_empty() {
                Vec::new()
            } else {
                vec![Privilege {
                    object_type: OBJECT_TYPE.into(),
                    permissions: actions.iter().map(|a| a.to_string()).collect(),
                }]
            };
            site.insert_role(Role {
                id,
                name: role_name.into(),
                description: description.into(),
                privileges,
                permissions: Vec::new(),
            });
        }
        site.fix_builtin_ids();
        let id = site.ids.next();
        let roles = vec![site.admin.clone()];
        site.insert_user(User {
            id,
            email: format!("admin@{name}.example"),
            first_name: "Site".into(),
            last_name: "Admin".into(),
            roles,
        });
        site
    }

    fn empty(name: &str, seed: u64, extra_actions: &[String]) -> Self {
        Self {
            name: name.to_string(),
            users: BTreeMap::new(),
            roles: BTreeMap::new(),
            dashboards: BTreeMap::new(),
            emails: HashMap::new(),
            role_names: HashMap::new(),
            admin: Id(String::new()),
            everyone: Id(String::new()),
            ids: IdGen { state: seed },
            actions: ACTIONS
                .iter()
                .map(|a| a.to_string())
                .chain(extra_actions.iter().cloned())
                .collect(),
        }
    }

    /// A site from a snapshot. Admin and Everyone are added if it lacks them;
    /// anything inconsistent (a duplicate, a dangling id) is refused.
    pub fn from_snapshot(
        snapshot: &Snapshot,
        seed: u64,
        extra_actions: &[String],
    ) -> std::result::Result<Self, String> {
        let mut site = Self::empty(&snapshot.site, seed, extra_actions);
        for d in &snapshot.dashboards {
            if site.dashboards.insert(d.id.clone(), d.clone()).is_some() {
                return Err(format!("dashboard id `{}` appears twice", d.id));
            }
        }
        for role in &snapshot.roles {
            if site.roles.contains_key(&role.id) {
                return Err(format!("role id `{}` appears twice", role.id));
            }
            if site.role_names.contains_key(&key(&role.name)) {
                return Err(format!(
                    "role name `{}` appears twice (names are case-insensitive)",
                    role.name
                ));
            }
            site.check_grants(&role.privileges, &role.permissions)
                .map_err(|e| format!("role `{}`: {}", role.name, e.message))?;
            site.insert_role(role.clone());
        }
        for (name, description) in [
            ("Admin", "Full access to the site"),
            ("Everyone", "Every user of the site"),
        ] {
            if !site.role_names.contains_key(&key(name)) {
                let id = site.ids.next();
                let privileges = if name == "Admin" {
                    vec![Privilege {
                        object_type: OBJECT_TYPE.into(),
                        permissions: ACTIONS.iter().map(|a| a.to_string()).collect(),
                    }]
                } else {
                    Vec::new()
                };
                site.insert_role(Role {
                    id,
                    name: name.into(),
                    description: description.into(),
                    privileges,
                    permissions: Vec::new(),
                });
            }
        }
        site.fix_builtin_ids();
        for user in &snapshot.users {
            if site.users.contains_key(&user.id) {
                return Err(format!("user id `{}` appears twice", user.id));
            }
            if site.emails.contains_key(&key(&user.email)) {
                return Err(format!(
                    "email `{}` appears twice (emails are case-insensitive)",
                    user.email
                ));
            }
            if let Some(missing) = user.roles.iter().find(|r| !site.roles.contains_key(r)) {
                return Err(format!(
                    "user `{}` has unknown role id `{missing}`",
                    user.email
                ));
            }
            site.insert_user(user.clone());
        }
        Ok(site)
    }

    fn fix_builtin_ids(&mut self) {
        self.admin = self.role_names[&key("Admin")].clone();
        self.everyone = self.role_names[&key("Everyone")].clone();
    }

    fn insert_role(&mut self, role: Role) {
        self.role_names.insert(key(&role.name), role.id.clone());
        self.roles.insert(role.id.clone(), role);
    }

    fn insert_user(&mut self, mut user: User) {
        user.roles = self.membership(&user.roles);
        self.emails.insert(key(&user.email), user.id.clone());
        self.users.insert(user.id.clone(), user);
    }

    /// An id no object of the site has: a seed exported from another
    /// emulator holds ids from the same generator, and a new user must never
    /// take (and replace) a seeded one.
    fn fresh_id(&mut self) -> Id {
        loop {
            let id = self.ids.next();
            let taken = self.users.contains_key(&id)
                || self.roles.contains_key(&id)
                || self.dashboards.contains_key(&id);
            if !taken {
                return id;
            }
        }
    }

    /// A membership list as stored: sorted, once each, always with Everyone.
    fn membership(&self, roles: &[Id]) -> Vec<Id> {
        let mut set: BTreeSet<Id> = roles.iter().cloned().collect();
        set.insert(self.everyone.clone());
        set.into_iter().collect()
    }

    /// Renames a dashboard, as a BI user does in the web UI (the API has
    /// no call for it); `false` when there is no such dashboard.
    pub fn rename_dashboard(&mut self, id: &str, name: &str) -> bool {
        match self.dashboards.get_mut(&Id(id.to_string())) {
            Some(d) => {
                d.name = name.to_string();
                true
            }
            None => false,
        }
    }

    /// The whole site as it is now, without an API key.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            site: self.name.clone(),
            api_key: None,
            users: self.users.values().cloned().collect(),
            roles: self.roles.values().cloned().collect(),
            dashboards: self.dashboards.values().cloned().collect(),
        }
    }

    fn page<'a, T>(
        map: &'a BTreeMap<Id, T>,
        cursor: Option<&str>,
        size: usize,
    ) -> Result<Page<'a, T>> {
        let start = match cursor {
            None => Bound::Unbounded,
            Some(c) => {
                let id = Id(c.to_string());
                if !map.contains_key(&id) {
                    return Err(ApiError::bad_request(format!(
                        "invalid `next_page_start`: `{c}`"
                    )));
                }
                Bound::Included(id)
            }
        };
        let mut range = map.range((start, Bound::Unbounded));
        let items: Vec<&T> = range.by_ref().take(size.max(1)).map(|(_, v)| v).collect();
        let next = range.next().map(|(k, _)| k.clone());
        Ok(Page { items, next })
    }

    /// How many users the site has.
    pub fn user_count(&self) -> usize {
        self.users.len()
    }

    /// One page of users, in id order: at most `size`, starting at the id
    /// `cursor` (or the first). An unknown cursor is `400`.
    pub fn list_users(&self, cursor: Option<&str>, size: usize) -> Result<Page<'_, User>> {
        Self::page(&self.users, cursor, size)
    }

    /// One page of roles, in id order: at most `size`, starting at the id
    /// `cursor` (or the first). An unknown cursor is `400`.
    pub fn list_roles(&self, cursor: Option<&str>, size: usize) -> Result<Page<'_, Role>> {
        Self::page(&self.roles, cursor, size)
    }

    /// One page of dashboards, in id order: at most `size`, starting at the
    /// id `cursor` (or the first). An unknown cursor is `400`.
    pub fn list_dashboards(
        &self,
        cursor: Option<&str>,
        size: usize,
    ) -> Result<Page<'_, Dashboard>> {
        Self::page(&self.dashboards, cursor, size)
    }

    /// The user with id `id`, or `404`.
    pub fn user(&self, id: &str) -> Result<&User> {
        self.users
            .get(&Id::from(id))
            .ok_or_else(|| ApiError::not_found("user", id))
    }

    /// The role with id `id`, or `404`.
    pub fn role(&self, id: &str) -> Result<&Role> {
        self.roles
            .get(&Id::from(id))
            .ok_or_else(|| ApiError::not_found("role", id))
    }

    /// `invited_by_email` / `created_by_email` / `updated_by_email` must be an
    /// existing user in Admin.
    fn check_admin(&self, email: Option<&str>, field: &str) -> Result<()> {
        let email =
            email.ok_or_else(|| ApiError::bad_request(format!("missing field `{field}`")))?;
        let is_admin = self
            .emails
            .get(&key(email))
            .and_then(|id| self.users.get(id))
            .is_some_and(|u| u.roles.contains(&self.admin));
        if is_admin {
            Ok(())
        } else {
            Err(ApiError::bad_request(format!(
                "`{field}`: `{email}` is not an admin user of this site"
            )))
        }
    }

    fn check_role_ids(&self, roles: &[Id]) -> Result<()> {
        match roles.iter().find(|r| !self.roles.contains_key(r)) {
            Some(r) => Err(ApiError::bad_request(format!("unknown role id `{r}`"))),
            None => Ok(()),
        }
    }

    fn check_actions(&self, actions: &[String]) -> Result<()> {
        match actions.iter().find(|a| !self.actions.contains(*a)) {
            Some(a) => Err(ApiError::bad_request(format!("unknown permission `{a}`"))),
            None => Ok(()),
        }
    }

    fn check_grants(&self, privileges: &[Privilege], permissions: &[Permission]) -> Result<()> {
        for p in privileges {
            if !OTHER_OBJECT_TYPES.contains(&p.object_type.as_str()) {
                if p.object_type != OBJECT_TYPE {
                    return Err(ApiError::bad_request(format!(
                        "unknown object_type `{}`",
                        p.object_type
                    )));
                }
                self.check_actions(&p.permissions)?;
            }
        }
        for p in permissions {
            // Topics and Spaces are not modelled: their grants are kept as sent.
            if OTHER_OBJECT_TYPES.contains(&p.object_type.as_str()) {
                continue;
            }
            if p.object_type != OBJECT_TYPE {
                return Err(ApiError::bad_request(format!(
                    "unknown object_type `{}`",
                    p.object_type
                )));
            }
            if !self.dashboards.contains_key(&p.object_id) {
                return Err(ApiError::bad_request(format!(
                    "unknown dashboard object_id `{}`",
                    p.object_id
                )));
            }
            self.check_actions(&p.permissions)?;
        }
        Ok(())
    }

    /// Creates a user; with `dry_run` (test_mode) checks and answers, changes nothing.
    pub fn create_user(&mut self, req: CreateUser, dry_run: bool) -> Result<User> {
        let first_name = required(req.first_name, "first_name")?;
        let last_name = required(req.last_name, "last_name")?;
        let email = required(req.email, "email")?;
        if !is_email(&email) {
            return Err(ApiError::bad_request(format!("invalid email `{email}`")));
        }
        let roles = req.roles.unwrap_or_default();
        self.check_role_ids(&roles)?;
        self.check_admin(req.invited_by_email.as_deref(), "invited_by_email")?;
        if self.emails.contains_key(&key(&email)) {
            return Err(ApiError::conflict(format!(
                "a user with email `{email}` already exists"
            )));
        }
        let user = User {
            id: self.fresh_id(),
            email,
            first_name,
            last_name,
            roles: self.membership(&roles),
        };
        if !dry_run {
            self.insert_user(user.clone());
        }
        Ok(user)
    }

    /// Changes the fields of user `id` that `req` holds (the membership
    /// keeps Everyone); with `dry_run` (test_mode) checks and answers,
    /// changes nothing.
    pub fn update_user(&mut self, id: &str, req: UpdateUser, dry_run: bool) -> Result<User> {
        let mut user = self.user(id)?.clone();
        if let Some(first) = req.first_name {
            user.first_name = required(Some(first), "first_name")?;
        }
        if let Some(last) = req.last_name {
            user.last_name = required(Some(last), "last_name")?;
        }
        if let Some(roles) = req.roles {
            self.check_role_ids(&roles)?;
            user.roles = self.membership(&roles);
        }
        if !dry_run {
            self.users.insert(user.id.clone(), user.clone());
        }
        Ok(user)
    }

    /// Deletes user `id`; with `dry_run` (test_mode) only checks it exists.
    pub fn delete_user(&mut self, id: &str, dry_run: bool) -> Result<()> {
        let email = self.user(id)?.email.clone();
        if !dry_run {
            self.users.remove(&Id::from(id));
            self.emails.remove(&key(&email));
        }
        Ok(())
    }

    /// Creates a role; `created_by_email` must be an admin user and the name
    /// new to the site. With `dry_run` (test_mode) checks and answers,
    /// changes nothing.
    pub fn create_role(&mut self, req: RoleFields, dry_run: bool) -> Result<Role> {
        if req.updated_by_email.is_some() {
            return Err(ApiError::bad_request(
                "`updated_by_email` is for updates; send `created_by_email`",
            ));
        }
        let name = required(req.name, "name")?;
        let privileges = req.privileges.unwrap_or_default();
        let permissions = req.permissions.unwrap_or_default();
        self.check_grants(&privileges, &permissions)?;
        self.check_admin(req.created_by_email.as_deref(), "created_by_email")?;
        if self.role_names.contains_key(&key(&name)) {
            return Err(ApiError::conflict(format!(
                "a role named `{name}` already exists"
            )));
        }
        let role = Role {
            id: self.fresh_id(),
            name,
            description: req.description.unwrap_or_default(),
            privileges,
            permissions,
        };
        if !dry_run {
            self.insert_role(role.clone());
        }
        Ok(role)
    }

    /// Changes role `id`: each field `req` holds replaces the stored one;
    /// `updated_by_email` must be an admin user. Admin and Everyone cannot be
    /// renamed (`403`). With `dry_run` (test_mode) checks and answers,
    /// changes nothing.
    pub fn update_role(&mut self, id: &str, req: RoleFields, dry_run: bool) -> Result<Role> {
        let mut role = self.role(id)?.clone();
        if req.created_by_email.is_some() {
            return Err(ApiError::bad_request(
                "`created_by_email` is for creates; send `updated_by_email`",
            ));
        }
        if let Some(name) = req.name {
            let name = required(Some(name), "name")?;
            if name != role.name {
                if role.id == self.admin || role.id == self.everyone {
                    return Err(ApiError::forbidden(format!(
                        "the `{}` role cannot be renamed",
                        role.name
                    )));
                }
                if let Some(other) = self.role_names.get(&key(&name))
                    && *other != role.id
                {
                    return Err(ApiError::conflict(format!(
                        "a role named `{name}` already exists"
                    )));
                }
                role.name = name;
            }
        }
        if let Some(description) = req.description {
            role.description = description;
        }
        if let Some(privileges) = req.privileges {
            role.privileges = privileges;
        }
        if let Some(permissions) = req.permissions {
            role.permissions = permissions;
        }
        self.check_grants(&role.privileges, &role.permissions)?;
        self.check_admin(req.updated_by_email.as_deref(), "updated_by_email")?;
        if !dry_run {
            let old = self.roles.insert(role.id.clone(), role.clone());
            if let Some(old) = old {
                self.role_names.remove(&key(&old.name));
            }
            self.role_names.insert(key(&role.name), role.id.clone());
        }
        Ok(role)
    }

    /// Deletes role `id` and takes it out of every user's membership; Admin
    /// and Everyone cannot be deleted (`403`). With `dry_run` (test_mode)
    /// only checks, changes nothing.
    pub fn delete_role(&mut self, id: &str, dry_run: bool) -> Result<()> {
        let role = self.role(id)?;
        if role.id == self.admin || role.id == self.everyone {
            return Err(ApiError::forbidden(format!(
                "the `{}` role cannot be deleted",
                role.name
            )));
        }
        if !dry_run {
            let role = self.roles.remove(&Id::from(id)).expect("checked above");
            self.role_names.remove(&key(&role.name));
            for user in self.users.values_mut() {
                user.roles.retain(|r| *r != role.id);
            }
        }
        Ok(())
    }
}
