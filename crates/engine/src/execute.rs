//! Carrying out a plan through the writer: phases in dependency order, calls
//! concurrent within a phase, failures kept to the changes they touch.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use periscope_client::{
    Id, NewRole, NewUser, Permission, Privilege, RoleUpdate, UserUpdate, Writer,
};
use rolecall_core::live::Live;
use rolecall_core::plan::{Change, Phase, Plan, RoleRef, RoleState, Step};
use rolecall_core::vocab::{EVERYONE, key};
use tokio::sync::Semaphore;

/// Why a change failed: the server's answer, or why no answer came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The status the server answered; `None` when no answer came.
    pub status: Option<u16>,
    /// The call that failed.
    pub url: Option<String>,
    /// What went wrong, with the URL (never the API key).
    pub message: String,
}

impl From<&periscope_client::Error> for Failure {
    fn from(e: &periscope_client::Error) -> Self {
        Self {
            status: e.status(),
            url: e.url().map(str::to_string),
            message: e.to_string(),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Why a change was not tried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    /// It gives roles whose create failed.
    NeedsRoles(Vec<String>),
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Skip::NeedsRoles(names) => write!(
                f,
                "needs the role{} {}, whose change failed",
                if names.len() == 1 { "" } else { "s" },
                names.join(", ")
            ),
        }
    }
}

/// What became of one change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done,
    Failed(Failure),
    /// Not tried: something it needs failed first.
    Skipped(Skip),
}

/// Told of each outcome as it happens (progress, audit log).
pub type OnOutcome = Arc<dyn Fn(&Step, &Outcome) + Send + Sync>;

#[derive(Debug, Clone, Copy)]
pub struct ExecuteOptions {
    /// Calls at once within a phase (at least 1).
    pub parallelism: usize,
}

/// One outcome per change of the plan, in plan order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub outcomes: Vec<Outcome>,
}

impl Report {
    pub fn done(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Done))
    }

    pub fn failed(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Failed(_)))
    }

    pub fn skipped(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Skipped(_)))
    }

    /// Every change was carried out.
    pub fn is_complete(&self) -> bool {
        self.done() == self.outcomes.len()
    }

    fn count(&self, f: impl Fn(&Outcome) -> bool) -> usize {
        self.outcomes.iter().filter(|o| f(o)).count()
    }
}

/// Role ids learnt during the apply: lower-cased name -> id of each role the
/// plan created. In test mode a created role does not exist: its id is
/// empty, and users are sent without it.
type Created = HashMap<String, String>;

/// The role ids of a membership, or the names of roles whose create failed.
fn role_ids(
    refs: &std::collections::BTreeSet<RoleRef>,
    created: &Created,
) -> Result<Vec<Id>, Vec<String>> {
    let mut ids = Vec::new();
    let mut missing = Vec::new();
    for r in refs {
        match (&r.id, created.get(&key(&r.name))) {
            (Some(id), _) => ids.push(Id(id.clone())),
            (None, Some(id)) if id.is_empty() => {}
            (None, Some(id)) => ids.push(Id(id.clone())),
            (None, None) => missing.push(r.name.clone()),
        }
    }
    if missing.is_empty() {
        Ok(ids)
    } else {
        Err(missing)
    }
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

/// What one call needs besides its change.
struct Call {
    writer: Arc<Writer>,
    actor: String,
    everyone: Option<String>,
    /// The membership's ids, resolved before the call was started.
    roles: Vec<Id>,
}

/// Runs one change; for a created role, returns its name and id for the
/// changes after it.
async fn run(
    change: &Change,
    call: &Call,
) -> Result<Option<(String, String)>, periscope_client::Error> {
    let w = &call.writer;
    let actor = call.actor.clone();
    match change {
        Change::CreateRole { after } => {
            let role = w
                .create_role(&NewRole {
                    name: after.name.clone(),
                    description: after.description.clone(),
                    created_by_email: actor,
                    privileges: privileges(after),
                    permissions: permissions(after),
                })
                .await?;
            let id = if w.test_mode() {
                String::new()
            } else {
                role.id.0
            };
            return Ok(Some((key(&after.name), id)));
        }
        Change::UpdateRole { id, after, .. } | Change::RenameRole { id, after, .. } => {
            let rename = matches!(change, Change::RenameRole { .. });
            let update = RoleUpdate {
                updated_by_email: actor,
                name: rename.then(|| after.name.clone()),
                description: Some(after.description.clone()),
                privileges: Some(privileges(after)),
                permissions: Some(permissions(after)),
            };
            w.update_role(&Id(id.clone()), &update).await?;
        }
        Change::CreateUser { after } => {
            let user = NewUser {
                first_name: after.first_name.clone(),
                last_name: after.last_name.clone(),
                email: after.email.clone(),
                roles: call.roles.clone(),
                invited_by_email: actor,
            };
            w.create_user(&user).await?;
        }
        Change::UpdateUser { id, before, after } | Change::StripUser { id, before, after } => {
            let roles = (before.roles != after.roles).then(|| {
                let mut roles = call.roles.clone();
                roles.extend(call.everyone.clone().map(Id));
                roles
            });
            let update = UserUpdate {
                first_name: (before.first_name != after.first_name)
                    .then(|| after.first_name.clone()),
                last_name: (before.last_name != after.last_name).then(|| after.last_name.clone()),
                roles,
            };
            w.update_user(&Id(id.clone()), &update).await?;
        }
        Change::DeleteUser { id, .. } => w.delete_user(&Id(id.clone())).await?,
        Change::DeleteRole { id, .. } => w.delete_role(&Id(id.clone())).await?,
    }
    Ok(None)
}

/// Carries out `plan`: [`Phase::ALL`] in order, up to
/// `options.parallelism` calls at once within a phase. A user change that
/// needs a role whose create failed is skipped, not tried.
pub async fn execute(
    plan: &Plan,
    writer: Arc<Writer>,
    live: &Live,
    options: ExecuteOptions,
    on_outcome: OnOutcome,
) -> Report {
    let mut outcomes: Vec<Option<Outcome>> = vec![None; plan.changes.len()];
    let mut created = Created::new();
    let everyone = live
        .roles
        .iter()
        .find(|r| key(&r.name) == key(EVERYONE))
        .map(|r| r.id.clone());
    let semaphore = Arc::new(Semaphore::new(options.parallelism.max(1)));
    for phase in Phase::ALL {
        let mut tasks = tokio::task::JoinSet::new();
        for (i, step) in plan.changes.iter().enumerate() {
            if step.change.phase() != phase {
                continue;
            }
            let membership = step
                .change
                .user_after()
                .map(|a| role_ids(&a.roles, &created));
            let roles = match membership {
                Some(Err(missing)) => {
                    let outcome = Outcome::Skipped(Skip::NeedsRoles(missing));
                    on_outcome(step, &outcome);
                    outcomes[i] = Some(outcome);
                    continue;
                }
                Some(Ok(ids)) => ids,
                None => Vec::new(),
            };
            let call = Call {
                writer: writer.clone(),
                actor: plan.actor.clone(),
                everyone: everyone.clone(),
                roles,
            };
            let (semaphore, change) = (semaphore.clone(), step.change.clone());
            tasks.spawn(async move {
                let _permit = semaphore.acquire_owned().await.expect("never closed");
                (i, run(&change, &call).await)
            });
        }
        while let Some(joined) = tasks.join_next().await {
            let (i, result) = joined.expect("an apply task panicked");
            let outcome = match result {
                Ok(learnt) => {
                    created.extend(learnt);
                    Outcome::Done
                }
                Err(e) => Outcome::Failed(Failure::from(&e)),
            };
            on_outcome(&plan.changes[i], &outcome);
            outcomes[i] = Some(outcome);
        }
    }
    Report {
        outcomes: outcomes
            .into_iter()
            .map(|o| o.expect("every change has an outcome"))
            .collect(),
    }
}
