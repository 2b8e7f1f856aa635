//! `diff(desired, live, policy) -> Plan`: pure, deterministic.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use globset::{GlobBuilder, GlobMatcher};

use super::{
    Action, Blocked, Change, FORMAT_VERSION, Grant, Kind, Plan, Risk, RoleState, State, Unmanaged,
    UserState,
};
use crate::diagnostic::{Diagnostic, SourceMap, did_you_mean};
use crate::live::{Live, LiveRole, LiveUser, digest};
use crate::model::{DashboardRef, Desired, Limit, Origin, PruneRoles, PruneUsers, Role};
use crate::vocab::{self, ADMIN, EVERYONE, key};

/// `--target` / `--exclude`: `user:GLOB` or `role:GLOB`.
#[derive(Debug, Clone)]
pub struct Selector {
    pub kind: Kind,
    pub pattern: String,
    matcher: GlobMatcher,
}

impl Selector {
    pub fn parse(text: &str) -> Result<Self, String> {
        let (kind, pattern) = match text.split_once(':') {
            Some(("user", p)) => (Kind::User, p),
            Some(("role", p)) => (Kind::Role, p),
            _ => {
                return Err(format!(
                    "`{text}` is not a selector: write `user:GLOB` or `role:GLOB`, e.g. `user:*@acme.com` or `role:Finance*`"
                ));
            }
        };
        let matcher = GlobBuilder::new(pattern)
            .case_insensitive(true)
            .build()
            .map_err(|e| format!("`{pattern}` is not a valid glob: {}", e.kind()))?
            .compile_matcher();
        Ok(Self {
            kind,
            pattern: pattern.to_string(),
            matcher,
        })
    }

    fn matches(&self, change: &Change) -> bool {
        if self.kind != change.kind {
            return false;
        }
        // A rename is selected by its new or its old name.
        let old = change
            .before
            .as_ref()
            .and_then(State::as_role)
            .map(|r| r.name.as_str());
        self.matcher.is_match(&change.key) || old.is_some_and(|o| self.matcher.is_match(o))
    }
}

/// What `--target` and `--exclude` select; empty targets select everything.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    pub targets: Vec<Selector>,
    pub excludes: Vec<Selector>,
}

impl Policy {
    fn selects(&self, change: &Change) -> bool {
        (self.targets.is_empty() || self.targets.iter().any(|s| s.matches(change)))
            && !self.excludes.iter().any(|s| s.matches(change))
    }
}

/// What a desired role becomes on the site.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target<'a> {
    /// An existing role (updated, maybe renamed).
    Live(&'a LiveRole),
    /// A role to create.
    New,
}

struct Ctx<'a> {
    desired: &'a Desired,
    sources: &'a SourceMap,
    errors: std::cell::RefCell<Vec<Diagnostic>>,
    live_roles: HashMap<String, &'a LiveRole>,
    dashboards: HashMap<&'a str, &'a str>,
    dashboard_names: HashMap<&'a str, Vec<&'a str>>,
    admin_id: Option<&'a str>,
    everyone_id: Option<&'a str>,
    /// Live role id -> the name it has after the plan (renames applied).
    effective_name: HashMap<&'a str, String>,
    ignored_role_ids: HashSet<&'a str>,
}

impl<'a> Ctx<'a> {
    fn error(&self, origin: &Origin, len: usize, message: String, hint: String) {
        let mut d = Diagnostic::error(message).hint(hint);
        if let Some(pos) = self.sources.pos_of(origin, len) {
            d = d.at(pos, String::new());
        }
        self.errors.borrow_mut().push(d);
    }

    fn role_ignored(&self, name: &str) -> bool {
        self.desired.ignore.roles.is_match(name)
    }

    fn role_protected(&self, name: &str) -> bool {
        self.desired.protect.roles.is_match(name)
    }

    fn user_ignored(&self, email: &str) -> bool {
        self.desired.ignore.users.is_match(email)
    }

    fn user_protected(&self, email: &str) -> bool {
        self.desired.protect.users.is_match(email)
    }

    fn dashboard_name(&self, id: &str) -> String {
        self.dashboards
            .get(id)
            .map_or_else(|| format!("#{id}"), |n| n.to_string())
    }

    fn live_role_state(&self, role: &LiveRole) -> RoleState {
        RoleState {
            name: role.name.clone(),
            description: role.description.clone(),
            privileges: non_empty(&role.privileges),
            dashboards: role
                .grants
                .iter()
                .filter(|(_, a)| !a.is_empty())
                .map(|(id, actions)| {
                    (
                        id.clone(),
                        Grant {
                            name: self.dashboard_name(id),
                            actions: actions.clone(),
                        },
                    )
                })
                .collect(),
        }
    }

    /// The desired role as a state, with its dashboards resolved to ids.
    fn desired_role_state(&self, role: &Role) -> RoleState {
        let mut dashboards: BTreeMap<String, Grant> = BTreeMap::new();
        for (dref, grant) in &role.dashboards {
            let Some(id) = self.resolve_dashboard(dref, &grant.origin) else {
                continue;
            };
            if grant.actions.is_empty() {
                continue;
            }
            let entry = dashboards.entry(id.clone()).or_insert_with(|| Grant {
                name: self.dashboard_name(&id),
                actions: BTreeSet::new(),
            });
            entry.actions.extend(grant.actions.iter().cloned());
        }
        RoleState {
            name: role.name.clone(),
            description: role.description.clone(),
            privileges: non_empty(&role.privileges),
            dashboards,
        }
    }

    fn resolve_dashboard(&self, dref: &DashboardRef, origin: &Origin) -> Option<String> {
        let written = dref.to_string();
        match dref {
            DashboardRef::Id(id) => {
                if self.dashboards.contains_key(id.as_str()) {
                    return Some(id.clone());
                }
                self.error(
                    origin,
                    written.chars().count() + 2,
                    format!("no dashboard on the site has the id `{id}`"),
                    "check the id in the dashboard's URL, or name the dashboard instead"
                        .to_string(),
                );
                None
            }
            DashboardRef::Name(name) => {
                match self.dashboard_names.get(name.as_str()).map(Vec::as_slice) {
                    Some([id]) => Some(id.to_string()),
                    Some(ids) => {
                        let ids: Vec<String> = ids.iter().map(|i| format!("`\"#{i}\"`")).collect();
                        self.error(
                            origin,
                            written.chars().count(),
                            format!("{} dashboards on the site are named `{name}`", ids.len()),
                            format!(
                                "name the one you mean by its id instead: {}",
                                ids.join(" or ")
                            ),
                        );
                        None
                    }
                    None => {
                        let candidates: Vec<&str> = self.dashboard_names.keys().copied().collect();
                        let mut close: Vec<(f64, &str)> = candidates
                            .iter()
                            .map(|c| {
                                (
                                    strsim::jaro_winkler(&name.to_lowercase(), &c.to_lowercase()),
                                    *c,
                                )
                            })
                            .filter(|(s, _)| *s > 0.75)
                            .collect();
                        close.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
                        let listed: Vec<String> = close
                            .iter()
                            .take(5)
                            .map(|(_, c)| {
                                let ids = &self.dashboard_names[c];
                                format!("`{c}` (#{})", ids.join(", #"))
                            })
                            .collect();
                        let hint = if listed.is_empty() {
                            "check the name on the site, or name the dashboard by id: `\"#<id>\"` (the number in its URL)".to_string()
                        } else {
                            format!(
                                "did you mean {}? Or name the dashboard by id: `\"#<id>\"`",
                                listed.join(", ")
                            )
                        };
                        self.error(
                            origin,
                            written.chars().count(),
                            format!("no dashboard on the site is named `{name}`"),
                            hint,
                        );
                        None
                    }
                }
            }
        }
    }
}

fn user_state(user: &LiveUser, roles: BTreeSet<String>) -> UserState {
    UserState {
        email: user.email.clone(),
        first_name: user.first_name.clone(),
        last_name: user.last_name.clone(),
        roles,
    }
}

/// Computes the plan that makes `live` equal to `desired`. Errors are
/// references the site cannot resolve (dashboards, roles) and an actor that
/// is not an admin of the site.
pub fn diff(
    desired: &Desired,
    sources: &SourceMap,
    live: &Live,
    policy: &Policy,
) -> Result<Plan, Vec<Diagnostic>> {
    let mut ctx = Ctx {
        desired,
        sources,
        errors: Default::default(),
        live_roles: live.roles.iter().map(|r| (key(&r.name), r)).collect(),
        dashboards: live
            .dashboards
            .iter()
            .map(|d| (d.id.as_str(), d.name.as_str()))
            .collect(),
        dashboard_names: HashMap::new(),
        admin_id: None,
        everyone_id: None,
        effective_name: HashMap::new(),
        ignored_role_ids: HashSet::new(),
    };
    for d in &live.dashboards {
        ctx.dashboard_names
            .entry(d.name.as_str())
            .or_default()
            .push(d.id.as_str());
    }
    ctx.admin_id = ctx.live_roles.get(&key(ADMIN)).map(|r| r.id.as_str());
    ctx.everyone_id = ctx.live_roles.get(&key(EVERYONE)).map(|r| r.id.as_str());
    ctx.ignored_role_ids = live
        .roles
        .iter()
        .filter(|r| ctx.role_ignored(&r.name))
        .map(|r| r.id.as_str())
        .collect();

    // Roles: match each desired role to a live one, by name or by rename.
    let mut targets: BTreeMap<String, Target<'_>> = BTreeMap::new();
    let mut claimed: HashSet<&str> = HashSet::new();
    for k in desired.roles.keys() {
        if let Some(l) = ctx.live_roles.get(k) {
            targets.insert(k.clone(), Target::Live(l));
            claimed.insert(l.id.as_str());
        }
    }
    for (k, role) in &desired.roles {
        if targets.contains_key(k) {
            continue;
        }
        let renamed = role.renamed_from.iter().find_map(|old| {
            ctx.live_roles
                .get(&key(old))
                .filter(|l| {
                    !claimed.contains(l.id.as_str())
                        && !vocab::is_builtin_role(&l.name)
                        && !desired.roles.contains_key(&key(&l.name))
                })
                .copied()
        });
        match renamed {
            Some(l) => {
                claimed.insert(l.id.as_str());
                ctx.effective_name.insert(l.id.as_str(), role.name.clone());
                targets.insert(k.clone(), Target::Live(l));
            }
            None => {
                targets.insert(k.clone(), Target::New);
            }
        }
    }
    for r in &live.roles {
        ctx.effective_name
            .entry(r.id.as_str())
            .or_insert_with(|| r.name.clone());
    }

    let mut changes: Vec<Change> = Vec::new();
    let mut deleted_roles: HashSet<&str> = HashSet::new();

    for (k, role) in &desired.roles {
        if ctx.role_ignored(&role.name) || ctx.role_protected(&role.name) {
            continue;
        }
        let after = ctx.desired_role_state(role);
        let source = Some(role.origin.to_string());
        match targets[k] {
            Target::New => {
                let mut risks = BTreeSet::new();
                role_risks(&role.name, None, &after, &mut risks);
                changes.push(Change {
                    action: Action::Create,
                    kind: Kind::Role,
                    key: role.name.clone(),
                    id: None,
                    before: None,
                    after: Some(State::Role(after)),
                    risks,
                    source,
                    blocked: None,
                    labels: Vec::new(),
                });
            }
            Target::Live(l) => {
                let before = ctx.live_role_state(l);
                let renamed = key(&l.name) != *k;
                let mut after = after;
                if !renamed {
                    // Names compare case-insensitively: keep the live spelling.
                    after.name = l.name.clone();
                }
                if before == after {
                    continue;
                }
                let mut risks = BTreeSet::new();
                role_risks(&l.name, Some(&before), &after, &mut risks);
                if renamed {
                    risks.insert(Risk::RenameRole);
                }
                changes.push(Change {
                    action: if renamed {
                        Action::Rename
                    } else {
                        Action::Update
                    },
                    kind: Kind::Role,
                    key: after.name.clone(),
                    id: Some(l.id.clone()),
                    before: Some(State::Role(before)),
                    after: Some(State::Role(after)),
                    risks,
                    source,
                    blocked: None,
                    labels: Vec::new(),
                });
            }
        }
    }

    let mut unmanaged = Unmanaged::default();
    for l in &live.roles {
        if claimed.contains(l.id.as_str())
            || ctx.role_ignored(&l.name)
            || vocab::is_builtin_role(&l.name)
        {
            continue;
        }
        if desired.prune.roles == PruneRoles::Delete && !ctx.role_protected(&l.name) {
            deleted_roles.insert(l.id.as_str());
            changes.push(Change {
                action: Action::Delete,
                kind: Kind::Role,
                key: l.name.clone(),
                id: Some(l.id.clone()),
                before: Some(State::Role(ctx.live_role_state(l))),
                after: None,
                risks: BTreeSet::from([Risk::DeleteRole]),
                source: None,
                blocked: None,
                labels: Vec::new(),
            });
        } else {
            unmanaged.roles += 1;
        }
    }

    // Users.
    let live_users: HashMap<String, &LiveUser> =
        live.users.iter().map(|u| (key(&u.email), u)).collect();
    // The name a user's role has once the plan is applied: the live spelling
    // (after a rename, the new name) for a role that exists, the config's
    // for a role to create.
    let display_of_desired = |role_key: &str| -> Option<&str> {
        let live_role = match targets.get(role_key) {
            Some(Target::Live(l)) => Some(*l),
            Some(Target::New) => None,
            None => ctx.live_roles.get(role_key).copied(),
        };
        match (live_role, desired.roles.get(role_key)) {
            (Some(l), _) => Some(
                ctx.effective_name
                    .get(l.id.as_str())
                    .map_or(l.name.as_str(), String::as_str),
            ),
            (None, Some(r)) => Some(r.name.as_str()),
            (None, None) => None,
        }
    };
    // A live membership as names: (managed names, names kept as they are).
    let mut role_ref_errors: Vec<(Origin, String)> = Vec::new();
    for (k, user) in &desired.users {
        if ctx.user_ignored(&user.email) || ctx.user_protected(&user.email) {
            continue;
        }
        let mut wanted = BTreeSet::new();
        for (rk, rref) in &user.roles {
            let known = desired.roles.contains_key(rk) || ctx.live_roles.contains_key(rk);
            if !known {
                role_ref_errors.push((rref.origin.clone(), rref.name.clone()));
                continue;
            }
            if let Some(l) = ctx.live_roles.get(rk)
                && deleted_roles.contains(l.id.as_str())
            {
                ctx.error(
                    &rref.origin,
                    rref.name.chars().count(),
                    format!("role `{}` is not in the config, so `prune.roles: delete` would delete it, yet `{}` is given it", l.name, user.email),
                    format!("define `{}` under `roles:`, or remove it from this user", l.name),
                );
                continue;
            }
            wanted.insert(display_of_desired(rk).unwrap_or(rref.name.as_str()));
        }
        let source = || Some(user.origin.to_string());
        match live_users.get(k) {
            None => {
                let (Some(first), Some(last)) = (&user.first_name, &user.last_name) else {
                    ctx.error(
                        &user.origin,
                        user.email.chars().count(),
                        format!("user `{}` is not on the site yet, and creating it needs a first and a last name", user.email),
                        "add `first_name:` and `last_name:` to this user".to_string(),
                    );
                    continue;
                };
                let after = UserState {
                    email: user.email.clone(),
                    first_name: first.clone(),
                    last_name: last.clone(),
                    roles: owned(&wanted),
                };
                let mut risks = BTreeSet::new();
                if after.roles.iter().any(|r| key(r) == key(ADMIN)) {
                    risks.insert(Risk::AdminGrant);
                }
                changes.push(Change {
                    action: Action::Create,
                    kind: Kind::User,
                    key: user.email.clone(),
                    id: None,
                    before: None,
                    after: Some(State::User(after)),
                    risks,
                    source: source(),
                    blocked: None,
                    labels: Vec::new(),
                });
            }
            Some(l) => {
                let (managed, kept) = live_membership(&ctx, l);
                let first = user.first_name.as_deref().unwrap_or(&l.first_name);
                let last = user.last_name.as_deref().unwrap_or(&l.last_name);
                if managed == wanted && first == l.first_name && last == l.last_name {
                    continue;
                }
                let before = user_state(l, owned(&managed.union(&kept).copied().collect()));
                let after = UserState {
                    email: l.email.clone(),
                    first_name: first.to_string(),
                    last_name: last.to_string(),
                    roles: owned(&wanted.union(&kept).copied().collect()),
                };
                let risks = user_risks(&before, &after);
                changes.push(user_update(l, before, after, risks, source()));
            }
        }
    }
    for (origin, name) in role_ref_errors {
        let mut known: Vec<&str> = desired.roles.values().map(|r| r.name.as_str()).collect();
        known.extend(live.roles.iter().map(|r| r.name.as_str()));
        let hint = match did_you_mean(&name, known.iter().copied()) {
            Some(m) => format!("did you mean `{m}`? Or define `{name}` under `roles:`"),
            None => format!("define `{name}` under `roles:`, or create it on the site"),
        };
        ctx.error(
            &origin,
            name.chars().count(),
            format!("role `{name}` is defined neither in the config nor on the site"),
            hint,
        );
    }

    let actor_key = key(&desired.actor);
    for l in &live.users {
        let k = key(&l.email);
        if desired.users.contains_key(&k)
            || ctx.user_ignored(&l.email)
            || ctx.user_protected(&l.email)
            || k == actor_key
        {
            if !desired.users.contains_key(&k) && !ctx.user_ignored(&l.email) {
                unmanaged.users += 1;
            }
            continue;
        }
        if desired.prune.users == PruneUsers::Keep {
            unmanaged.users += 1;
            continue;
        }
        let (managed, kept) = live_membership(&ctx, l);
        let before = user_state(l, owned(&managed.union(&kept).copied().collect()));
        match desired.prune.users {
            PruneUsers::Keep => unreachable!("counted above"),
            PruneUsers::Delete => changes.push(Change {
                action: Action::Delete,
                kind: Kind::User,
                key: l.email.clone(),
                id: Some(l.id.clone()),
                before: Some(State::User(before)),
                after: None,
                risks: BTreeSet::from([Risk::DeleteUser]),
                source: None,
                blocked: None,
                labels: Vec::new(),
            }),
            PruneUsers::Strip => {
                if managed.is_empty() {
                    continue;
                }
                let after = UserState {
                    roles: owned(&kept),
                    ..before.clone()
                };
                let mut risks = user_risks(&before, &after);
                risks.insert(Risk::StripUser);
                changes.push(user_update(l, before, after, risks, None));
            }
        }
    }

    // The actor must be an admin of the site: every write names it.
    let actor_is_admin = live_users
        .get(&actor_key)
        .is_some_and(|u| ctx.admin_id.is_some_and(|a| u.roles.contains(a)));
    if !actor_is_admin {
        let what = if live_users.contains_key(&actor_key) {
            "is not in the Admin role"
        } else {
            "is not a user"
        };
        ctx.errors.borrow_mut().push(
            Diagnostic::error(format!("the actor `{}` {what} on the site `{}`", desired.actor, desired_site(desired)))
                .hint("every write names the actor, and the site accepts only admins: set `actor:` to the email of an Admin of the site"),
        );
    }

    if !ctx.errors.borrow().is_empty() {
        let mut errors = ctx.errors.take();
        errors.sort_by_key(|d| (d.pos.is_none(), d.pos));
        return Err(errors);
    }

    changes.retain(|c| policy.selects(c));
    changes.sort_by(|a, b| (a.phase(), a.kind, &a.key).cmp(&(b.phase(), b.kind, &b.key)));
    guard_admins(desired, live, &ctx, &mut changes);
    apply_limits(desired, live, &ctx, &mut changes);

    let mut digests = BTreeMap::new();
    let live_by_id: HashMap<&str, &LiveUser> =
        live.users.iter().map(|u| (u.id.as_str(), u)).collect();
    let roles_by_id: HashMap<&str, &LiveRole> =
        live.roles.iter().map(|r| (r.id.as_str(), r)).collect();
    for c in &changes {
        let Some(id) = &c.id else { continue };
        let d = match c.kind {
            Kind::User => live_by_id.get(id.as_str()).map(digest),
            Kind::Role => roles_by_id.get(id.as_str()).map(digest),
        };
        if let Some(d) = d {
            digests.insert(format!("{}:{id}", c.kind), d);
        }
    }
    Ok(Plan {
        format_version: FORMAT_VERSION,
        site: desired_site(desired).to_string(),
        actor: desired.actor.clone(),
        summary: Plan::summarize(&changes),
        changes,
        unmanaged,
        digests,
    })
}

/// A live membership as names once the plan is applied (renames applied):
/// (the names the config manages, the names of ignored roles, kept as they
/// are). Borrowed, so that the common case, a user with nothing to change,
/// allocates nothing.
fn live_membership<'c>(
    ctx: &'c Ctx<'_>,
    user: &'c LiveUser,
) -> (BTreeSet<&'c str>, BTreeSet<&'c str>) {
    let mut managed = BTreeSet::new();
    let mut kept = BTreeSet::new();
    for id in &user.roles {
        if Some(id.as_str()) == ctx.everyone_id {
            continue;
        }
        let name = ctx
            .effective_name
            .get(id.as_str())
            .map_or(id.as_str(), String::as_str);
        if ctx.ignored_role_ids.contains(id.as_str()) {
            kept.insert(name);
        } else {
            managed.insert(name);
        }
    }
    (managed, kept)
}

/// Privileges without the object types that grant nothing: `Dashboard: []`
/// and no `Dashboard` are the same.
fn non_empty(
    privileges: &BTreeMap<String, BTreeSet<String>>,
) -> BTreeMap<String, BTreeSet<String>> {
    privileges
        .iter()
        .filter(|(_, a)| !a.is_empty())
        .map(|(t, a)| (t.clone(), a.clone()))
        .collect()
}

/// An update of a live user: from the config (`source`) or from a prune.
fn user_update(
    l: &LiveUser,
    before: UserState,
    after: UserState,
    risks: BTreeSet<Risk>,
    source: Option<String>,
) -> Change {
    Change {
        action: Action::Update,
        kind: Kind::User,
        key: l.email.clone(),
        id: Some(l.id.clone()),
        before: Some(State::User(before)),
        after: Some(State::User(after)),
        risks,
        source,
        blocked: None,
        labels: Vec::new(),
    }
}

fn owned(names: &BTreeSet<&str>) -> BTreeSet<String> {
    names.iter().map(|n| n.to_string()).collect()
}

fn desired_site(desired: &Desired) -> &str {
    &desired.site
}

fn removed<T: Ord + Clone>(before: &BTreeSet<T>, after: &BTreeSet<T>) -> usize {
    before.difference(after).count()
}

fn role_risks(
    name: &str,
    before: Option<&RoleState>,
    after: &RoleState,
    risks: &mut BTreeSet<Risk>,
) {
    if key(name) == key(EVERYONE) {
        risks.insert(Risk::Everyone);
    }
    if key(name) == key(ADMIN) {
        risks.insert(Risk::AdminRole);
    }
    if let Some(before) = before
        && revoked_in_role(before, after) > 0
    {
        risks.insert(Risk::Revoke);
    }
}

/// Privilege and grant actions a role loses.
fn revoked_in_role(before: &RoleState, after: &RoleState) -> usize {
    let empty = BTreeSet::new();
    let privileges: usize = before
        .privileges
        .iter()
        .map(|(t, a)| removed(a, after.privileges.get(t).unwrap_or(&empty)))
        .sum();
    let grants: usize = before
        .dashboards
        .iter()
        .map(|(id, g)| {
            removed(
                &g.actions,
                after.dashboards.get(id).map_or(&empty, |g| &g.actions),
            )
        })
        .sum();
    privileges + grants
}

fn user_risks(before: &UserState, after: &UserState) -> BTreeSet<Risk> {
    let mut risks = BTreeSet::new();
    let admin = |s: &UserState| s.roles.iter().any(|r| key(r) == key(ADMIN));
    if admin(after) && !admin(before) {
        risks.insert(Risk::AdminGrant);
    }
    if removed(&before.roles, &after.roles) > 0 {
        risks.insert(Risk::Revoke);
    }
    risks
}

/// Revokes a change makes: memberships, privileges and grants taken away.
fn revokes(change: &Change) -> usize {
    match (&change.before, &change.after) {
        (Some(State::User(b)), Some(State::User(a))) => removed(&b.roles, &a.roles),
        (Some(State::Role(b)), Some(State::Role(a))) => revoked_in_role(b, a),
        _ => 0,
    }
}

/// Rules that nothing overrides: the actor keeps Admin, and the site keeps
/// at least one Admin member.
fn guard_admins(desired: &Desired, live: &Live, ctx: &Ctx<'_>, changes: &mut [Change]) {
    let is_admin = |s: &UserState| s.roles.iter().any(|r| key(r) == key(ADMIN));
    let actor = key(&desired.actor);
    let mut admins: BTreeSet<String> = live
        .users
        .iter()
        .filter(|u| ctx.admin_id.is_some_and(|a| u.roles.contains(a)))
        .map(|u| key(&u.email))
        .collect();
    for c in changes.iter_mut().filter(|c| c.kind == Kind::User) {
        let after_admin = c
            .after
            .as_ref()
            .and_then(State::as_user)
            .is_some_and(is_admin);
        if after_admin {
            admins.insert(key(&c.key));
        } else {
            admins.remove(&key(&c.key));
            if key(&c.key) == actor
                && c.before
                    .as_ref()
                    .and_then(State::as_user)
                    .is_some_and(is_admin)
            {
                c.blocked = Some(Blocked {
                    rule: format!("the actor `{}` must keep the Admin role", desired.actor),
                    allow_with: None,
                });
            }
        }
    }
    if admins.is_empty() {
        for c in changes.iter_mut().filter(|c| c.kind == Kind::User) {
            let lost = c
                .before
                .as_ref()
                .and_then(State::as_user)
                .is_some_and(is_admin)
                && !c
                    .after
                    .as_ref()
                    .and_then(State::as_user)
                    .is_some_and(is_admin);
            if lost && c.blocked.is_none() {
                c.blocked = Some(Blocked {
                    rule: "the site must keep at least one Admin member".into(),
                    allow_with: None,
                });
            }
        }
    }
}

/// `limits`: too many deletes or revokes block every change that counts
/// towards them (defaults: 10 deletes and 25% of a kind; 50 revokes).
fn apply_limits(desired: &Desired, live: &Live, ctx: &Ctx<'_>, changes: &mut [Change]) {
    let flag = Some("--allow-mass-delete".to_string());
    let deleted = |kind: Kind| {
        changes
            .iter()
            .filter(|c| c.kind == kind && c.action == Action::Delete)
            .count()
    };
    let (users, roles) = (deleted(Kind::User), deleted(Kind::Role));
    let live_users = live
        .users
        .iter()
        .filter(|u| !ctx.user_ignored(&u.email))
        .count();
    let live_roles = live
        .roles
        .iter()
        .filter(|r| !ctx.role_ignored(&r.name))
        .count();
    let pct = |n: usize, of: usize| {
        if of == 0 {
            0.0
        } else {
            n as f64 * 100.0 / of as f64
        }
    };
    let over_pct = |p: f64| {
        if pct(users, live_users) > p {
            Some(format!(
                "{users} of {live_users} users ({:.0}%)",
                pct(users, live_users)
            ))
        } else if pct(roles, live_roles) > p {
            Some(format!(
                "{roles} of {live_roles} roles ({:.0}%)",
                pct(roles, live_roles)
            ))
        } else {
            None
        }
    };
    let total = users + roles;
    let delete_rule = match desired.limits.max_deletes {
        Some(Limit::Count(n)) => {
            (total as u64 > n).then(|| format!("max_deletes: {total} deletes, {n} allowed"))
        }
        Some(Limit::Percent(p)) => {
            over_pct(p).map(|what| format!("max_deletes: {what} deleted, {p}% allowed"))
        }
        None => (total > 10)
            .then(|| format!("max_deletes: {total} deletes, 10 allowed by default"))
            .or_else(|| {
                over_pct(25.0)
                    .map(|what| format!("max_deletes: {what} deleted, 25% allowed by default"))
            }),
    };
    if let Some(rule) = delete_rule {
        for c in changes
            .iter_mut()
            .filter(|c| c.action == Action::Delete && c.blocked.is_none())
        {
            c.blocked = Some(Blocked {
                rule: rule.clone(),
                allow_with: flag.clone(),
            });
        }
    }
    let revoked: usize = changes.iter().map(revokes).sum();
    let grants_live: usize = live.users.iter().map(|u| u.roles.len()).sum::<usize>()
        + live
            .roles
            .iter()
            .map(|r| {
                r.privileges.values().map(BTreeSet::len).sum::<usize>()
                    + r.grants.values().map(BTreeSet::len).sum::<usize>()
            })
            .sum::<usize>();
    let revoke_rule = match desired.limits.max_revokes {
        Some(Limit::Count(n)) => (revoked as u64 > n).then(|| format!("max_revokes: {revoked} revokes, {n} allowed")),
        Some(Limit::Percent(p)) => (pct(revoked, grants_live) > p)
            .then(|| format!("max_revokes: {revoked} of {grants_live} memberships and grants ({:.0}%), {p}% allowed", pct(revoked, grants_live))),
        None => (revoked > 50).then(|| format!("max_revokes: {revoked} revokes, 50 allowed by default")),
    };
    if let Some(rule) = revoke_rule {
        for c in changes
            .iter_mut()
            .filter(|c| revokes(c) > 0 && c.blocked.is_none())
        {
            c.blocked = Some(Blocked {
                rule: rule.clone(),
                allow_with: flag.clone(),
            });
        }
    }
}
