//! `diff(desired, live, selection) -> Plan`: pure, deterministic. The safety
//! rules are not checked here but by [`super::safety::check`].
//!
//! The diff runs as named steps over one [`Ctx`]: match roles (by name or
//! rename), role changes, prune roles, user changes, prune users, the actor
//! check, then selection, order and checksums.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use super::pins::{Dashboards, Resolution};
use super::select::select;
pub use super::select::{Selection, Selector};
use super::{
    Change, ChecksumKey, DashboardNote, Grant, Kind, ObjectKind, ObjectRef, Plan, Risk, RoleRef,
    RoleState, Step, Unmanaged, UnmanagedUser, UserState,
};
use crate::config::model::{
    Desired, NameOrId, ObjectName, Origin, PruneRoles, PruneUsers, Role, User,
};
use crate::config::vocab::{ADMIN, EVERYONE, is_builtin_role, key};
use crate::diagnostic::{Diagnostic, SourceMap, did_you_mean};
use crate::live::{Live, LiveRole, LiveUser, checksum};

/// What a desired role becomes on the site.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target<'a> {
    /// An existing role (updated, maybe renamed).
    Live(&'a LiveRole),
    /// A role to create.
    New,
}

/// The config and the live site, indexed, with each desired role matched.
struct Ctx<'a> {
    desired: &'a Desired,
    sources: &'a SourceMap,
    live: &'a Live,
    live_roles: HashMap<String, &'a LiveRole>,
    live_users: HashMap<String, &'a LiveUser>,
    admin_id: Option<&'a str>,
    everyone_id: Option<&'a str>,
    ignored_role_ids: HashSet<&'a str>,
    /// Desired role key -> the live role it updates, or a create.
    targets: BTreeMap<String, Target<'a>>,
    /// Live role ids a desired role takes.
    claimed: HashSet<&'a str>,
    /// Live role id -> the name it has after the plan (renames applied).
    effective_name: HashMap<&'a str, String>,
    /// What the lock kept in place that the site moved.
    notes: std::cell::RefCell<BTreeSet<DashboardNote>>,
    /// Dashboards by id and by name, for names through the lock.
    pins: Dashboards<'a>,
}

/// A membership a config asks for, borrowed until a change needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Want<'a> {
    name: &'a str,
    /// `None`: a role the plan creates.
    id: Option<&'a str>,
}

impl Want<'_> {
    fn to_ref(self) -> RoleRef {
        RoleRef {
            name: self.name.to_string(),
            id: self.id.map(str::to_string),
        }
    }
}

impl<'a> Ctx<'a> {
    fn new(desired: &'a Desired, sources: &'a SourceMap, live: &'a Live) -> Self {
        let live_roles: HashMap<String, &LiveRole> =
            live.roles.iter().map(|r| (key(&r.name), r)).collect();
        let mut ctx = Ctx {
            desired,
            sources,
            live,
            admin_id: live_roles.get(&key(ADMIN)).map(|r| r.id.as_str()),
            everyone_id: live_roles.get(&key(EVERYONE)).map(|r| r.id.as_str()),
            live_roles,
            live_users: live.users.iter().map(|u| (key(&u.email), u)).collect(),
            ignored_role_ids: live
                .roles
                .iter()
                .filter(|r| desired.ignore.roles.is_match(&r.name))
                .map(|r| r.id.as_str())
                .collect(),
            targets: BTreeMap::new(),
            claimed: HashSet::new(),
            effective_name: HashMap::new(),
            notes: Default::default(),
            pins: Dashboards::new(live),
        };
        ctx.match_roles();
        ctx
    }

    /// Matches each desired role to a live one, by name first, then by
    /// `renamed_from`; the rest are creates.
    fn match_roles(&mut self) {
        for k in self.desired.roles.keys() {
            if let Some(l) = self.live_roles.get(k) {
                self.targets.insert(k.clone(), Target::Live(l));
                self.claimed.insert(l.id.as_str());
            }
        }
        for (k, role) in &self.desired.roles {
            if self.targets.contains_key(k) {
                continue;
            }
            let target = match self.rename_source(role) {
                Some(l) => {
                    self.claimed.insert(l.id.as_str());
                    self.effective_name.insert(l.id.as_str(), role.name.clone());
                    Target::Live(l)
                }
                None => Target::New,
            };
            self.targets.insert(k.clone(), target);
        }
        for r in &self.live.roles {
            self.effective_name
                .entry(r.id.as_str())
                .or_insert_with(|| r.name.clone());
        }
    }

    /// The live role a desired role renames: the first of its `renamed_from`
    /// that exists, is not built in, and is neither taken nor in the config.
    fn rename_source(&self, role: &Role) -> Option<&'a LiveRole> {
        role.renamed_from.iter().find_map(|old| {
            self.live_roles
                .get(&key(old))
                .filter(|l| {
                    !self.claimed.contains(l.id.as_str())
                        && !is_builtin_role(&l.name)
                        && !self.desired.roles.contains_key(&key(&l.name))
                })
                .copied()
        })
    }

    fn error(&self, origin: &Origin, len: usize, message: String, hint: String) -> Diagnostic {
        let d = Diagnostic::error(message).hint(hint);
        match origin.pos(self.sources, len) {
            Some(pos) => d.at(pos, String::new()),
            None => d,
        }
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
        self.pins
            .by_id
            .get(id)
            .map_or_else(|| format!("#{id}"), |n| n.to_string())
    }

    /// An object's name on the site, `#id` when it has none.
    fn object_name(&self, object: &ObjectRef) -> String {
        match object.kind {
            ObjectKind::Dashboard => self.dashboard_name(&object.id),
        }
    }

    /// The object a config's name means; `None` with an error when none.
    fn resolve(
        &self,
        named: &ObjectName,
        origin: &Origin,
        errors: &mut Vec<Diagnostic>,
    ) -> Option<ObjectRef> {
        match named.kind {
            ObjectKind::Dashboard => self
                .resolve_dashboard(&named.name, origin, errors)
                .map(ObjectRef::dashboard),
        }
    }

    fn effective(&self, id: &'a str) -> &str {
        self.effective_name.get(id).map_or(id, String::as_str)
    }

    fn live_role_state(&self, role: &LiveRole) -> RoleState {
        RoleState {
            name: role.name.clone(),
            description: role.description.clone(),
            privileges: non_empty(&role.privileges),
            grants: role
                .grants
                .iter()
                .filter(|(_, a)| !a.is_empty())
                .map(|(object, actions)| {
                    let grant = Grant {
                        name: self.object_name(object),
                        actions: actions.clone(),
                    };
                    (object.clone(), grant)
                })
                .collect(),
        }
    }

    /// The desired role as a state, with its objects resolved to ids.
    fn desired_role_state(&self, role: &Role, errors: &mut Vec<Diagnostic>) -> RoleState {
        let mut grants: BTreeMap<ObjectRef, Grant> = BTreeMap::new();
        let mut named: BTreeMap<ObjectRef, &ObjectName> = BTreeMap::new();
        for (dref, grant) in &role.grants {
            let Some(object) = self.resolve(dref, &grant.origin, errors) else {
                continue;
            };
            // Two keys of one role on one object: which grant is meant
            // is for a person (a lock edited, a rename followed twice).
            if let Some(first) = named.insert(object.clone(), dref) {
                let written = dref.to_string().chars().count();
                errors.push(self.error(
                    &grant.origin,
                    written,
                    format!(
                        "`{}` and `{}` name the same {} #{}",
                        crate::text::clean(&first.to_string()),
                        crate::text::clean(&dref.to_string()),
                        object.kind,
                        object.id
                    ),
                    "keep one of them (and `rolecall lock --update`): the lock or the ids make both this dashboard".into(),
                ));
                continue;
            }
            if grant.actions.is_empty() {
                continue;
            }
            let entry = grants.entry(object.clone()).or_insert_with(|| Grant {
                name: self.object_name(&object),
                actions: BTreeSet::new(),
            });
            entry.actions.extend(grant.actions.iter().cloned());
        }
        RoleState {
            name: role.name.clone(),
            description: role.description.clone(),
            privileges: non_empty(&role.privileges),
            grants,
        }
    }

    fn resolve_dashboard(
        &self,
        dref: &NameOrId,
        origin: &Origin,
        errors: &mut Vec<Diagnostic>,
    ) -> Option<String> {
        let written = dref.to_string().chars().count();
        let name = match dref {
            // `"#99"` pinned as the name of a dashboard named `#99`: the pin
            // holds, even once a dashboard with the id 99 appears.
            NameOrId::Id(id) if self.desired.lock.pin(&format!("#{id}")).is_some() => {
                return self.resolve_name(&format!("#{id}"), origin, written, errors);
            }
            NameOrId::Id(id) if self.pins.by_id.contains_key(id.as_str()) => {
                return Some(id.clone());
            }
            // `"#1"` with no dashboard #1 and no pin, and a dashboard named
            // `#1`: which one is meant is for a person (the dashboard #1 may
            // be gone, and a grant never moves in silence).
            NameOrId::Id(id) if self.pins.name_of(dref, &self.desired.lock).is_some() => {
                errors.push(self.error(
                    origin,
                    written + 2,
                    format!(
                        "no dashboard on the site has the id `{id}`, and one is named `#{id}`"
                    ),
                    format!(
                        "if the config means the dashboard named `#{id}`, pin it with `rolecall lock --update` (the lock keeps the name on that dashboard); if it meant the dashboard #{id}, that one is gone: remove the grant"
                    ),
                ));
                return None;
            }
            NameOrId::Id(id) => {
                errors.push(self.error(
                    origin,
                    written + 2,
                    format!("no dashboard on the site has the id `{id}`"),
                    "check the id in the dashboard's URL, or name the dashboard instead".into(),
                ));
                return None;
            }
            NameOrId::Name(name) => name,
        };
        self.resolve_name(name, origin, written, errors)
    }

    /// A dashboard by name ([`Dashboards::resolve`]): a pin the site moved
    /// gets a note for the reader; what resolves to nothing, an error.
    fn resolve_name(
        &self,
        name: &str,
        origin: &Origin,
        written: usize,
        errors: &mut Vec<Diagnostic>,
    ) -> Option<String> {
        let (message, hint) = match self.pins.resolve(name, &self.desired.lock) {
            Resolution::Unique(id) => return Some(id),
            Resolution::Pinned { id, now, others } => {
                let mut notes = self.notes.borrow_mut();
                if now != name {
                    notes.insert(DashboardNote::Renamed {
                        id: id.clone(),
                        name: name.to_string(),
                        now,
                    });
                }
                if !others.is_empty() {
                    notes.insert(DashboardNote::Ambiguous {
                        id: id.clone(),
                        name: name.to_string(),
                        others,
                    });
                }
                return Some(id);
            }
            Resolution::Gone { pinned, now } => {
                // The grant cannot be on a dashboard that is gone, and is
                // never moved to another of that name: dropped, and said.
                self.notes.borrow_mut().insert(DashboardNote::Gone {
                    id: pinned,
                    name: name.to_string(),
                    now,
                });
                return None;
            }
            Resolution::Ambiguous(ids) => {
                let ids: Vec<String> = ids.iter().map(|i| format!("`\"#{i}\"`")).collect();
                (
                    format!("{} dashboards on the site are named `{name}`", ids.len()),
                    format!(
                        "name the one you mean by its id instead: {}",
                        ids.join(" or ")
                    ),
                )
            }
            Resolution::Missing => (
                format!("no dashboard on the site is named `{name}`"),
                self.dashboard_hint(name),
            ),
        };
        errors.push(self.error(origin, written, message, hint));
        None
    }

    /// Up to five dashboard names close to `name`, with their ids.
    fn dashboard_hint(&self, name: &str) -> String {
        let lower = name.to_lowercase();
        let mut close: Vec<(f64, &str)> = self
            .pins
            .by_name
            .keys()
            .map(|c| (strsim::jaro_winkler(&lower, &c.to_lowercase()), *c))
            .filter(|(s, _)| *s > 0.75)
            .collect();
        close.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
        let listed: Vec<String> = close
            .iter()
            .take(5)
            .map(|(_, c)| format!("`{c}` (#{})", self.pins.by_name[c].join(", #")))
            .collect();
        if listed.is_empty() {
            "check the name on the site, or name the dashboard by id: `\"#<id>\"` (the number in its URL)".to_string()
        } else {
            format!(
                "did you mean {}? Or name the dashboard by id: `\"#<id>\"`",
                listed.join(", ")
            )
        }
    }

    /// The role a membership names, once the plan is applied: the live role
    /// (after a rename, its new name) or the one the plan creates.
    fn wanted_role(&self, role_key: &str) -> Option<Want<'_>> {
        let live_role = match self.targets.get(role_key) {
            Some(Target::Live(l)) => Some(*l),
            Some(Target::New) => None,
            None => self.live_roles.get(role_key).copied(),
        };
        match (live_role, self.desired.roles.get(role_key)) {
            (Some(l), _) => Some(Want {
                name: self.effective(&l.id),
                id: Some(&l.id),
            }),
            (None, Some(r)) => Some(Want {
                name: &r.name,
                id: None,
            }),
            (None, None) => None,
        }
    }

    /// A live membership by role id, Everyone left out: (the ids the config
    /// manages, the ids of ignored roles, kept as they are).
    fn live_membership(&self, user: &'a LiveUser) -> (BTreeSet<&'a str>, BTreeSet<&'a str>) {
        let mut managed = BTreeSet::new();
        let mut kept = BTreeSet::new();
        for id in &user.roles {
            if Some(id.as_str()) == self.everyone_id {
                continue;
            }
            if self.ignored_role_ids.contains(id.as_str()) {
                kept.insert(id.as_str());
            } else {
                managed.insert(id.as_str());
            }
        }
        (managed, kept)
    }

    fn live_refs(&self, ids: impl IntoIterator<Item = &'a str>) -> BTreeSet<RoleRef> {
        ids.into_iter()
            .map(|id| RoleRef::live(self.effective(id), id))
            .collect()
    }

    fn unmanaged_user(&self, user: &LiveUser) -> UnmanagedUser {
        let mut roles: Vec<String> = user
            .roles
            .iter()
            .filter(|id| Some(id.as_str()) != self.everyone_id)
            .map(|id| self.effective(id).to_string())
            .collect();
        roles.sort_by_key(|n| key(n));
        let admin = self.admin_id.is_some_and(|a| user.roles.contains(a))
            && !self.user_protected(&user.email);
        UnmanagedUser {
            email: user.email.clone(),
            roles,
            admin,
            risks: if admin {
                BTreeSet::from([Risk::UnmanagedAdmin])
            } else {
                BTreeSet::new()
            },
        }
    }

    fn is_admin(&self, state: &UserState) -> bool {
        state.roles.iter().any(|r| match (&r.id, self.admin_id) {
            (Some(id), Some(admin)) => id == admin,
            _ => key(&r.name) == key(ADMIN),
        })
    }
}

/// Computes the plan that makes `live` equal to `desired`. Errors are
/// references the site cannot resolve (dashboards, roles) and an actor that
/// is not an admin of the site.
pub fn diff(
    desired: &Desired,
    sources: &SourceMap,
    live: &Live,
    selection: &Selection,
) -> Result<Plan, Vec<Diagnostic>> {
    let ctx = Ctx::new(desired, sources, live);
    let mut errors = Vec::new();
    let mut steps = role_changes(&ctx, &mut errors);
    let (pruned_roles, unmanaged_roles) = prune_roles(&ctx);
    let deleted_roles: HashSet<&str> = pruned_roles.iter().filter_map(|s| s.change.id()).collect();
    steps.extend(user_changes(&ctx, &deleted_roles, &mut errors));
    steps.extend(pruned_roles);
    let (pruned_users, unmanaged_users) = prune_users(&ctx);
    steps.extend(pruned_users);
    check_actor(&ctx, &mut errors);
    check_selectors(&ctx, selection, &mut errors);
    if !errors.is_empty() {
        errors.sort_by_key(|d| (d.pos.is_none(), d.pos));
        return Err(errors);
    }
    steps.sort_by(|a, b| {
        (a.change.phase(), a.kind(), a.key()).cmp(&(b.change.phase(), b.kind(), b.key()))
    });
    let (steps, partial) = select(steps, selection)?;
    Ok(Plan {
        dashboards: ctx.notes.take().into_iter().collect(),
        partial,
        made_from: None,
        site: desired.site.clone(),
        actor: desired.actor.clone(),
        digests: digests(&steps, live),
        changes: steps,
        unmanaged: Unmanaged {
            users: unmanaged_users,
            roles: unmanaged_roles,
            kept: super::KeptRights::of(live),
        },
    })
}

/// Creates, renames and updates of the roles the config lists.
fn role_changes(ctx: &Ctx<'_>, errors: &mut Vec<Diagnostic>) -> Vec<Step> {
    let mut steps = Vec::new();
    for (k, role) in &ctx.desired.roles {
        if ctx.role_protected(&role.name)
            && !ctx.role_ignored(&role.name)
            && !matches!(ctx.targets[k], Target::Live(_))
        {
            // Members would be moved to a role nothing creates.
            errors.push(ctx.error(
                &role.origin,
                role.name.chars().count(),
                format!(
                    "the role `{}` is protected and not on the site (renamed or deleted there?): rolecall never creates or changes it",
                    crate::text::clean(&role.name)
                ),
                "restore it on the site, or let the config follow the site (`rolecall drift --baseline-rev REV --write-config`, or edit it)".into(),
            ));
            continue;
        }
        if ctx.role_ignored(&role.name) || ctx.role_protected(&role.name) {
            continue;
        }
        let mut after = ctx.desired_role_state(role, errors);
        let source = Some(role.origin.clone());
        let Target::Live(l) = ctx.targets[k] else {
            let risks = role_risks(&role.name, None, &after);
            steps.push(Step::new(Change::create_role(after), risks, source));
            continue;
        };
        let before = ctx.live_role_state(l);
        if key(&l.name) == key(ADMIN) {
            // Admin's rights are not rolecall's: only its description is.
            after.privileges = before.privileges.clone();
            after.grants = before.grants.clone();
        }
        let renamed = key(&l.name) != *k;
        if !renamed {
            // Names compare case-insensitively: keep the live spelling.
            after.name = l.name.clone();
        }
        if before == after {
            continue;
        }
        let mut risks = role_risks(&l.name, Some(&before), &after);
        let id = l.id.clone();
        if renamed {
            risks.insert(Risk::RenameRole);
        }
        let change = Change::edit_role(id, before, after);
        steps.push(Step::new(change, risks, source));
    }
    steps
}

/// Live roles the config does not list: deleted with `prune.roles: delete`,
/// else counted as unmanaged. Admin, Everyone and ignored roles are neither.
fn prune_roles(ctx: &Ctx<'_>) -> (Vec<Step>, Vec<String>) {
    let mut steps = Vec::new();
    let mut unmanaged = Vec::new();
    for l in &ctx.live.roles {
        if ctx.claimed.contains(l.id.as_str())
            || ctx.role_ignored(&l.name)
            || is_builtin_role(&l.name)
        {
            continue;
        }
        if ctx.desired.prune.roles == PruneRoles::Delete && !ctx.role_protected(&l.name) {
            let change = Change::delete_role(l.id.clone(), ctx.live_role_state(l));
            steps.push(Step::new(change, BTreeSet::from([Risk::DeleteRole]), None));
        } else {
            unmanaged.push(l.name.clone());
        }
    }
    unmanaged.sort_by_key(|n| key(n));
    (steps, unmanaged)
}

/// Creates and updates of the users the config lists.
fn user_changes(
    ctx: &Ctx<'_>,
    deleted_roles: &HashSet<&str>,
    errors: &mut Vec<Diagnostic>,
) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut unknown: Vec<(&Origin, &str)> = Vec::new();
    for (k, user) in &ctx.desired.users {
        if ctx.user_ignored(&user.email) || ctx.user_protected(&user.email) {
            continue;
        }
        let wanted = wanted_roles(ctx, user, deleted_roles, errors, &mut unknown);
        let step = match ctx.live_users.get(k) {
            None => create_user(ctx, user, &wanted, errors),
            Some(l) => update_user(ctx, user, l, &wanted),
        };
        steps.extend(step);
    }
    for (origin, name) in unknown {
        errors.push(unknown_role(ctx, origin, name));
    }
    steps
}

/// The roles a listed user should have, each resolved to a live role or a
/// role the plan creates. Unknown roles and roles the plan deletes are errors.
fn wanted_roles<'c>(
    ctx: &'c Ctx<'_>,
    user: &'c User,
    deleted_roles: &HashSet<&str>,
    errors: &mut Vec<Diagnostic>,
    unknown: &mut Vec<(&'c Origin, &'c str)>,
) -> BTreeSet<Want<'c>> {
    let mut wanted = BTreeSet::new();
    for (rk, rref) in &user.roles {
        let Some(want) = ctx.wanted_role(rk) else {
            unknown.push((&rref.origin, &rref.name));
            continue;
        };
        if want.id.is_some_and(|id| deleted_roles.contains(id)) {
            let name = &ctx.live_roles[rk].name;
            errors.push(ctx.error(
                &rref.origin,
                rref.name.chars().count(),
                format!("role `{name}` is not in the config, so `prune.roles: delete` would delete it, yet `{}` is given it", user.email),
                format!("define `{name}` under `roles:`, or remove it from this user"),
            ));
            continue;
        }
        wanted.insert(want);
    }
    wanted
}

fn unknown_role(ctx: &Ctx<'_>, origin: &Origin, name: &str) -> Diagnostic {
    let mut known: Vec<&str> = ctx
        .desired
        .roles
        .values()
        .map(|r| r.name.as_str())
        .collect();
    known.extend(ctx.live.roles.iter().map(|r| r.name.as_str()));
    let hint = match did_you_mean(name, known.iter().copied()) {
        Some(m) => format!("did you mean `{m}`? Or define `{name}` under `roles:`"),
        None => format!("define `{name}` under `roles:`, or create it on the site"),
    };
    ctx.error(
        origin,
        name.chars().count(),
        format!("role `{name}` is defined neither in the config nor on the site"),
        hint,
    )
}

fn create_user(
    ctx: &Ctx<'_>,
    user: &User,
    wanted: &BTreeSet<Want<'_>>,
    errors: &mut Vec<Diagnostic>,
) -> Option<Step> {
    let (Some(first), Some(last)) = (&user.first_name, &user.last_name) else {
        errors.push(ctx.error(
            &user.origin,
            user.email.chars().count(),
            format!(
                "user `{}` is not on the site yet, and creating it needs a first and a last name",
                user.email
            ),
            "add `first_name:` and `last_name:` to this user".to_string(),
        ));
        return None;
    };
    let after = UserState {
        email: user.email.clone(),
        first_name: first.clone(),
        last_name: last.clone(),
        roles: wanted.iter().map(|w| w.to_ref()).collect(),
    };
    let mut risks = BTreeSet::new();
    if ctx.is_admin(&after) {
        risks.insert(Risk::AdminGrant);
    }
    let source = Some(user.origin.clone());
    Some(Step::new(Change::create_user(after), risks, source))
}

fn update_user<'a>(
    ctx: &Ctx<'a>,
    user: &User,
    l: &'a LiveUser,
    wanted: &BTreeSet<Want<'_>>,
) -> Option<Step> {
    let (managed, kept) = ctx.live_membership(l);
    let first = user.first_name.as_deref().unwrap_or(&l.first_name);
    let last = user.last_name.as_deref().unwrap_or(&l.last_name);
    let same_roles = wanted.len() == managed.len()
        && wanted
            .iter()
            .all(|w| w.id.is_some_and(|id| managed.contains(id)));
    if same_roles && first == l.first_name && last == l.last_name {
        return None;
    }
    let before = user_state(l, ctx.live_refs(managed.union(&kept).copied()));
    let mut roles = ctx.live_refs(kept);
    roles.extend(wanted.iter().map(|w| w.to_ref()));
    let after = UserState {
        email: l.email.clone(),
        first_name: first.to_string(),
        last_name: last.to_string(),
        roles,
    };
    if before == after {
        // A membership of an ignored role the config lists too: kept.
        return None;
    }
    let mut risks = user_risks(ctx, &before, &after);
    // A membership past its `until`, taken away: say why.
    if let Some(expired) = ctx.desired.expired.get(&key(&user.email)) {
        let kept = after.role_names();
        let ended = before
            .roles
            .iter()
            .any(|r| !kept.contains(r.name.as_str()) && expired.contains(&key(&r.name)));
        if ended {
            risks.insert(Risk::Expired);
        }
    }
    let change = Change::update_user(l.id.clone(), before, after);
    Some(Step::new(change, risks, Some(user.origin.clone())))
}

/// Live users the config does not list: deleted or stripped as `prune.users`
/// says, else counted as unmanaged. Ignored users, protected users and the
/// actor are never pruned.
fn prune_users(ctx: &Ctx<'_>) -> (Vec<Step>, Vec<UnmanagedUser>) {
    let actor = key(&ctx.desired.actor);
    let mut steps = Vec::new();
    let mut unmanaged = Vec::new();
    for l in &ctx.live.users {
        let k = key(&l.email);
        if ctx.desired.users.contains_key(&k) || ctx.user_ignored(&l.email) {
            continue;
        }
        if ctx.user_protected(&l.email) || k == actor || ctx.desired.prune.users == PruneUsers::Keep
        {
            unmanaged.push(ctx.unmanaged_user(l));
            continue;
        }
        let (managed, kept) = ctx.live_membership(l);
        let before = user_state(l, ctx.live_refs(managed.union(&kept).copied()));
        let id = l.id.clone();
        if ctx.desired.prune.users == PruneUsers::Delete {
            let change = Change::delete_user(id, before);
            steps.push(Step::new(change, BTreeSet::from([Risk::DeleteUser]), None));
        } else if !managed.is_empty() {
            let change = Change::strip_user(id, before, &ctx.live_refs(kept));
            let (Some(before), Some(after)) = (change.user_before(), change.user_after()) else {
                unreachable!("a strip has a before and an after")
            };
            let mut risks = user_risks(ctx, before, after);
            risks.insert(Risk::StripUser);
            steps.push(Step::new(change, risks, None));
        }
    }
    unmanaged.sort_by_key(|u| key(&u.email));
    (steps, unmanaged)
}

/// The actor must be an admin of the site: every write names it.
fn check_actor(ctx: &Ctx<'_>, errors: &mut Vec<Diagnostic>) {
    let actor = ctx.live_users.get(&key(&ctx.desired.actor));
    let is_admin = actor.is_some_and(|u| ctx.admin_id.is_some_and(|a| u.roles.contains(a)));
    if is_admin {
        return;
    }
    let what = if actor.is_some() {
        "is not in the Admin role"
    } else {
        "is not a user"
    };
    errors.push(
        Diagnostic::error(format!("the actor `{}` {what} on the site `{}`", ctx.desired.actor, ctx.desired.site))
            .hint("every write names the actor, and the site accepts only admins: set `actor:` to the email of an Admin of the site"),
    );
}

/// A selector that matches no object of its kind, in the config or on the
/// site, is a mistake (a typo would otherwise plan nothing, silently).
fn check_selectors(ctx: &Ctx<'_>, selection: &Selection, errors: &mut Vec<Diagnostic>) {
    let (d, live) = (ctx.desired, ctx.live);
    for selector in selection.targets.iter().chain(&selection.excludes) {
        let hit = |n: &str| selector.matches_pattern(n);
        let matched = match selector.kind {
            Kind::User => {
                d.users.values().any(|u| hit(&u.email)) || live.users.iter().any(|u| hit(&u.email))
            }
            Kind::Role => {
                d.roles
                    .values()
                    .any(|r| hit(&r.name) || r.renamed_from.iter().any(|o| hit(o)))
                    || live.roles.iter().any(|r| hit(&r.name))
            }
        };
        if matched {
            continue;
        }
        errors.push(
            Diagnostic::error(format!(
                "the selector `{selector}` matches no {} in the config or on the site",
                selector.kind
            ))
            .hint("check the spelling: a selector is `user:GLOB` or `role:GLOB`, compared case-insensitively"),
        );
    }
}

/// The checksum of each live object a change touches.
fn digests(steps: &[Step], live: &Live) -> BTreeMap<ChecksumKey, String> {
    let users: HashMap<&str, &LiveUser> = live.users.iter().map(|u| (u.id.as_str(), u)).collect();
    let roles: HashMap<&str, &LiveRole> = live.roles.iter().map(|r| (r.id.as_str(), r)).collect();
    let mut digests = BTreeMap::new();
    for step in steps {
        let Some(id) = step.change.id() else { continue };
        let d = match step.kind() {
            Kind::User => users.get(id).map(checksum),
            Kind::Role => roles.get(id).map(checksum),
        };
        if let Some(d) = d {
            digests.insert(ChecksumKey::of(step.kind(), id), d);
        }
    }
    digests
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

fn user_state(user: &LiveUser, roles: BTreeSet<RoleRef>) -> UserState {
    UserState {
        email: user.email.clone(),
        first_name: user.first_name.clone(),
        last_name: user.last_name.clone(),
        roles,
    }
}

fn role_risks(name: &str, before: Option<&RoleState>, after: &RoleState) -> BTreeSet<Risk> {
    let mut risks = BTreeSet::new();
    if key(name) == key(EVERYONE) {
        risks.insert(Risk::Everyone);
    }
    if key(name) == key(ADMIN) {
        risks.insert(Risk::AdminRole);
    }
    if before.is_some_and(|b| super::revoked_in_role(b, after) > 0) {
        risks.insert(Risk::Revoke);
    }
    risks
}

fn user_risks(ctx: &Ctx<'_>, before: &UserState, after: &UserState) -> BTreeSet<Risk> {
    let mut risks = BTreeSet::new();
    if ctx.is_admin(after) && !ctx.is_admin(before) {
        risks.insert(Risk::AdminGrant);
    }
    if before
        .role_names()
        .difference(&after.role_names())
        .next()
        .is_some()
    {
        risks.insert(Risk::Revoke);
    }
    risks
}

/// Each live object's state as a plan's `before` shows it, against a config
/// (membership names with the renames it asks for): what `apply` compares
/// with a saved change's `before` to tell whether the object changed since.
pub struct Befores<'a> {
    ctx: Ctx<'a>,
    users: HashMap<&'a str, &'a LiveUser>,
    roles: HashMap<&'a str, &'a LiveRole>,
}

impl std::fmt::Debug for Befores<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Befores").finish_non_exhaustive()
    }
}

impl<'a> Befores<'a> {
    /// The befores of `live`, for `desired`.
    pub fn new(desired: &'a Desired, sources: &'a SourceMap, live: &'a Live) -> Self {
        Self {
            ctx: Ctx::new(desired, sources, live),
            users: live.users.iter().map(|u| (u.id.as_str(), u)).collect(),
            roles: live.roles.iter().map(|r| (r.id.as_str(), r)).collect(),
        }
    }

    /// The role with this id as it is now; `None` when it is gone.
    pub fn role(&self, id: &str) -> Option<RoleState> {
        self.roles.get(id).map(|r| self.ctx.live_role_state(r))
    }

    /// The user with this id as it is now; `None` when gone.
    pub fn user(&self, id: &str) -> Option<UserState> {
        let l = self.users.get(id)?;
        let (managed, kept) = self.ctx.live_membership(l);
        Some(user_state(
            l,
            self.ctx.live_refs(managed.union(&kept).copied()),
        ))
    }

    /// The id of the role or user with this name or email now, if any.
    pub fn id_of(&self, kind: Kind, name: &str) -> Option<String> {
        match kind {
            Kind::Role => self.ctx.live_roles.get(&key(name)).map(|r| r.id.clone()),
            Kind::User => self.ctx.live_users.get(&key(name)).map(|u| u.id.clone()),
        }
    }
}
