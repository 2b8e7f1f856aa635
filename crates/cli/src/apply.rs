//! Executing a plan through the writer: phases in dependency order, calls
//! concurrent within a phase, failures kept to the changes they touch.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use periscope_client::{
    Id, NewRole, NewUser, Permission, Privilege, RoleUpdate, UserUpdate, Writer,
};
use rolecall_core::live::Live;
use rolecall_core::plan::{Action, Change, Kind, Plan, RoleState, State};
use tokio::sync::Semaphore;

/// What became of one change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// The server's answer, or why no answer came.
    Failed(String),
    /// Not tried: something it needs failed first.
    Skipped(String),
}

/// Told of each outcome as it happens (progress, audit log).
pub type OnOutcome = Arc<dyn Fn(&Change, &Outcome) + Send + Sync>;

fn key(s: &str) -> String {
    s.to_lowercase()
}

fn privileges(role: &RoleState) -> Vec<Privilege> {
    role.privileges
        .iter()
        .map(|(t, a)| Privilege {
            object_type: t.clone(),
            permissions: a.iter().cloned().collect(),
        })
        .collect()
}

fn permissions(role: &RoleState) -> Vec<Permission> {
    role.dashboards
        .iter()
        .map(|(id, g)| Permission {
            object_type: "Dashboard".into(),
            object_id: Id(id.clone()),
            permissions: g.actions.iter().cloned().collect(),
        })
        .collect()
}

/// The roles a user change needs that are not there (their change failed).
pub fn missing_roles(change: &Change, role_ids: &HashMap<String, String>) -> Vec<String> {
    match change.after.as_ref().and_then(State::as_user) {
        Some(after) => after
            .roles
            .iter()
            .filter(|r| !role_ids.contains_key(&key(r)))
            .cloned()
            .collect(),
        None => Vec::new(),
    }
}

/// Runs one change; for a role, returns its name and id for the changes after it.
async fn run(
    change: &Change,
    writer: &Writer,
    actor: &str,
    role_ids: &HashMap<String, String>,
    everyone: Option<&str>,
) -> Result<Option<(String, String)>, String> {
    // A role created in test mode does not exist: its id is empty, and
    // users are sent without it.
    let ids = |names: &std::collections::BTreeSet<String>| -> Vec<Id> {
        names
            .iter()
            .filter_map(|n| role_ids.get(&key(n)))
            .filter(|id| !id.is_empty())
            .map(|id| Id(id.clone()))
            .collect()
    };
    let id = || Id(change.id.clone().unwrap_or_default());
    let err = |e: periscope_client::Error| e.to_string();
    match (
        change.kind,
        change.action,
        change.before.as_ref(),
        change.after.as_ref(),
    ) {
        (Kind::Role, Action::Create, _, Some(State::Role(after))) => {
            let role = writer
                .create_role(&NewRole {
                    name: after.name.clone(),
                    description: after.description.clone(),
                    created_by_email: actor.to_string(),
                    privileges: privileges(after),
                    permissions: permissions(after),
                })
                .await
                .map_err(err)?;
            let id = if writer.test_mode() {
                String::new()
            } else {
                role.id.0
            };
            Ok(Some((key(&after.name), id)))
        }
        (Kind::Role, Action::Update | Action::Rename, _, Some(State::Role(after))) => {
            writer
                .update_role(
                    &id(),
                    &RoleUpdate {
                        updated_by_email: actor.to_string(),
                        name: (change.action == Action::Rename).then(|| after.name.clone()),
                        description: Some(after.description.clone()),
                        privileges: Some(privileges(after)),
                        permissions: Some(permissions(after)),
                    },
                )
                .await
                .map_err(err)?;
            Ok(Some((
                key(&after.name),
                change.id.clone().unwrap_or_default(),
            )))
        }
        (Kind::User, Action::Create, _, Some(State::User(after))) => {
            writer
                .create_user(&NewUser {
                    first_name: after.first_name.clone(),
                    last_name: after.last_name.clone(),
                    email: after.email.clone(),
                    roles: ids(&after.roles),
                    invited_by_email: actor.to_string(),
                })
                .await
                .map_err(err)?;
            Ok(None)
        }
        (Kind::User, Action::Update, Some(State::User(before)), Some(State::User(after))) => {
            let roles = (before.roles != after.roles).then(|| {
                let mut roles = ids(&after.roles);
                roles.extend(everyone.map(|e| Id(e.to_string())));
                roles
            });
            let update = UserUpdate {
                first_name: (before.first_name != after.first_name)
                    .then(|| after.first_name.clone()),
                last_name: (before.last_name != after.last_name).then(|| after.last_name.clone()),
                roles,
            };
            writer.update_user(&id(), &update).await.map_err(err)?;
            Ok(None)
        }
        (Kind::User, Action::Delete, _, _) => {
            writer.delete_user(&id()).await.map(|()| None).map_err(err)
        }
        (Kind::Role, Action::Delete, _, _) => {
            writer.delete_role(&id()).await.map(|()| None).map_err(err)
        }
        _ => Err("a change this version of rolecall cannot apply".into()),
    }
}

/// Applies `plan`: roles created, renamed, updated; users created, updated;
/// users deleted; roles deleted. Within a phase up to `parallelism` calls run
/// at once. A user change that needs a role whose change failed is skipped.
/// Returns one outcome per change, in plan order.
pub async fn execute(
    plan: &Plan,
    writer: Arc<Writer>,
    live: &Live,
    parallelism: usize,
    on_outcome: OnOutcome,
) -> Vec<Outcome> {
    let mut outcomes: Vec<Option<Outcome>> = vec![None; plan.changes.len()];
    let mut role_ids: HashMap<String, String> = live
        .roles
        .iter()
        .map(|r| (key(&r.name), r.id.clone()))
        .collect();
    let everyone = live
        .roles
        .iter()
        .find(|r| key(&r.name) == "everyone")
        .map(|r| r.id.clone());
    let semaphore = Arc::new(Semaphore::new(parallelism.max(1)));
    for phase in 0..4u8 {
        let mut tasks = tokio::task::JoinSet::new();
        let ids = Arc::new(role_ids.clone());
        for (i, change) in plan
            .changes
            .iter()
            .enumerate()
            .filter(|(_, c)| c.phase() == phase)
        {
            let missing = missing_roles(change, &ids);
            if !missing.is_empty() {
                let outcome = Outcome::Skipped(format!(
                    "needs the role{} {}, whose change failed",
                    if missing.len() == 1 { "" } else { "s" },
                    missing.join(", ")
                ));
                on_outcome(change, &outcome);
                outcomes[i] = Some(outcome);
                continue;
            }
            let (writer, ids, semaphore, change) = (
                writer.clone(),
                ids.clone(),
                semaphore.clone(),
                change.clone(),
            );
            let actor = plan.actor.clone();
            let everyone = everyone.clone();
            tasks.spawn(async move {
                let _permit = semaphore.acquire_owned().await.expect("never closed");
                (
                    i,
                    run(&change, &writer, &actor, &ids, everyone.as_deref()).await,
                )
            });
        }
        let renamed: Mutex<HashSet<String>> = Mutex::new(HashSet::new());
        while let Some(joined) = tasks.join_next().await {
            let (i, result) = joined.expect("an apply task panicked");
            let outcome = match result {
                Ok(Some((name, id))) => {
                    role_ids.insert(name, id);
                    Outcome::Done
                }
                Ok(None) => Outcome::Done,
                Err(message) => Outcome::Failed(message),
            };
            if outcome == Outcome::Done
                && plan.changes[i].action == Action::Rename
                && let Some(State::Role(before)) = &plan.changes[i].before
            {
                renamed
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(key(&before.name));
            }
            on_outcome(&plan.changes[i], &outcome);
            outcomes[i] = Some(outcome);
        }
        for old in renamed.into_inner().unwrap_or_else(|e| e.into_inner()) {
            role_ids.remove(&old);
        }
    }
    outcomes
        .into_iter()
        .map(|o| o.expect("every change has an outcome"))
        .collect()
}
