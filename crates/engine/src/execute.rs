//! Carrying out a plan through the writer: phases in dependency order, calls
//! concurrent within a phase, failures kept to the changes they touch.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rolecall_core::config::vocab::{EVERYONE, key};
use rolecall_core::live::{Kept, Live, LiveRole};
use rolecall_core::plan::{
    Action, Change, Edit, Kind, Phase, Plan, RoleChange, RoleRef, RoleState, Step, UserChange,
};

use crate::site::{CallError, RoleWrite, SiteWrite, UserWrite};

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

impl<E: CallError> From<&E> for Failure {
    fn from(e: &E) -> Self {
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
    /// The apply was told to stop (Ctrl-C, SIGTERM) before it started.
    Interrupted,
    /// The site refused the credentials (`401`/`403`) on an earlier call.
    CredentialsRefused,
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
            Skip::Interrupted => f.write_str("not started: the apply was interrupted"),
            Skip::CredentialsRefused => {
                f.write_str("not started: the site refused the credentials")
            }
        }
    }
}

/// What became of one change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Carried out (or found done: a create made meanwhile as planned, a delete of what is gone).
    Done,
    /// Tried, and the site refused it or did not answer.
    Failed(Failure),
    /// Not tried: something it needs failed first.
    Skipped(Skip),
}

/// Told of each outcome as it happens (progress, audit log).
pub type OnOutcome = Arc<dyn Fn(&Step, &Outcome) + Send + Sync>;

/// Tells a running apply to start nothing more (calls in flight finish).
#[derive(Debug, Clone, Default)]
pub struct Stop(Arc<AtomicBool>);

impl Stop {
    /// A stop not yet given.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts nothing more from now on.
    pub fn stop(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether [`Stop::stop`] was called.
    pub fn is_stopped(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// How [`execute`] runs.
#[derive(Debug, Clone)]
pub struct ExecuteOptions {
    /// Checked before each change starts.
    pub stop: Stop,
}

/// One outcome per change of the plan, in plan order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// One outcome per change, in plan order.
    pub outcomes: Vec<Outcome>,
    /// Stopped by [`Stop`] before the end.
    pub interrupted: bool,
    /// Stopped because the site refused the credentials.
    pub credentials_refused: bool,
}

impl Report {
    /// The changes carried out.
    pub fn done(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Done))
    }

    /// The changes tried that failed.
    pub fn failed(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Failed(_)))
    }

    /// The changes not tried.
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
) -> Result<Vec<String>, Vec<String>> {
    let mut ids = Vec::new();
    let mut missing = Vec::new();
    for r in refs {
        match (&r.id, created.get(&key(&r.name))) {
            (Some(id), _) => ids.push(id.clone()),
            (None, Some(id)) if id.is_empty() => {}
            (None, Some(id)) => ids.push(id.clone()),
            (None, None) => missing.push(r.name.clone()),
        }
    }
    if missing.is_empty() {
        Ok(ids)
    } else {
        Err(missing)
    }
}

/// What one call needs besides its change.
struct Call<W> {
    writer: Arc<W>,
    actor: String,
    everyone: Option<String>,
    /// The membership's ids, resolved before the call was started.
    roles: Vec<String>,
    /// What the live role holds that rolecall does not manage: sent back
    /// with every write of the role.
    kept: Option<Kept>,
}

/// Runs one change and settles what a concurrent apply explains: a create
/// answered `409` whose object exists as the plan wants it is done; a delete
/// answered `404` is done.
async fn run_settled<W: SiteWrite>(
    change: &Change,
    call: &Call<W>,
) -> Result<Option<(String, String)>, W::Error> {
    let creates = change.action() == Action::Create;
    match run(change, call).await {
        Err(conflict) if creates && conflict.status() == Some(409) => {
            match settle_conflict(change, call).await? {
                Some(learnt) => {
                    tracing::info!(
                        key = change.key(),
                        "created meanwhile, as wanted (409): done"
                    );
                    Ok(learnt)
                }
                None => Err(conflict),
            }
        }
        Err(e) if e.status() == Some(404) && change.action() == Action::Delete => {
            tracing::info!(key = change.key(), "already deleted (404): done");
            Ok(None)
        }
        other => other,
    }
}

/// After a `409` on a create: whether the object on the site is as the plan
/// wants it (and, for a role, its name and id for the changes after it).
async fn settle_conflict<W: SiteWrite>(
    change: &Change,
    call: &Call<W>,
) -> Result<Option<Option<(String, String)>>, W::Error> {
    let site = &*call.writer;
    match change {
        Change::User(UserChange::Create(after)) => {
            let users = site.users().await?;
            let wanted: BTreeSet<&str> = call.roles.iter().map(String::as_str).collect();
            let as_wanted = users
                .iter()
                .find(|u| key(&u.email) == key(&after.email))
                .is_some_and(|u| {
                    let roles: BTreeSet<&str> = u
                        .roles
                        .iter()
                        .map(String::as_str)
                        .filter(|r| Some(*r) != call.everyone.as_deref())
                        .collect();
                    u.first_name == after.first_name
                        && u.last_name == after.last_name
                        && roles == wanted
                });
            Ok(as_wanted.then_some(None))
        }
        Change::Role(RoleChange::Create(after)) => {
            let roles = site.roles().await?;
            let found = roles
                .into_iter()
                .find(|r| key(&r.name) == key(&after.name))
                .filter(|r| role_as_wanted(r, after));
            Ok(found.map(|r| Some((key(&after.name), r.id))))
        }
        Change::Role(_) | Change::User(_) => Ok(None),
    }
}

/// A live role holds what a role state says (the name compared
/// case-insensitively).
fn role_as_wanted(live: &LiveRole, after: &RoleState) -> bool {
    key(&live.name) == key(&after.name)
        && live.description == after.description
        && live.same_rights(after)
}

/// Runs one change; for a created role, returns its name and id for the
/// changes after it.
async fn run<W: SiteWrite>(
    change: &Change,
    call: &Call<W>,
) -> Result<Option<(String, String)>, W::Error> {
    let (w, actor) = (&*call.writer, call.actor.as_str());
    match change {
        Change::Role(RoleChange::Create(after)) => {
            let id = w.create_role(after, actor).await?;
            return Ok(Some((key(&after.name), id)));
        }
        Change::Role(
            edit @ (RoleChange::Update(Edit { id, after, .. })
            | RoleChange::Rename(Edit { id, after, .. })),
        ) => {
            let role = RoleWrite {
                state: after,
                kept: call.kept.as_ref(),
                rename: matches!(edit, RoleChange::Rename(_)),
            };
            w.update_role(id, role, actor).await?;
        }
        Change::User(UserChange::Create(after)) => {
            w.create_user(after, &call.roles, actor).await?;
        }
        Change::User(
            UserChange::Update(Edit { id, before, after })
            | UserChange::Strip(Edit { id, before, after }),
        ) => {
            let roles = (before.roles != after.roles).then(|| {
                let mut roles = call.roles.clone();
                roles.extend(call.everyone.clone());
                roles
            });
            let update = UserWrite {
                first_name: (before.first_name != after.first_name)
                    .then(|| after.first_name.clone()),
                last_name: (before.last_name != after.last_name).then(|| after.last_name.clone()),
                roles,
            };
            w.update_user(id, &update).await?;
        }
        Change::User(UserChange::Delete(r)) => w.delete_user(&r.id).await?,
        Change::Role(RoleChange::Delete(r)) => w.delete_role(&r.id).await?,
    }
    Ok(None)
}

/// Whether a change may start: not after a stop, nor after the site
/// refused the credentials.
fn gate(stop: &Stop, refused: &AtomicBool) -> Option<Skip> {
    if refused.load(Ordering::SeqCst) {
        Some(Skip::CredentialsRefused)
    } else if stop.is_stopped() {
        Some(Skip::Interrupted)
    } else {
        None
    }
}

/// What [`execute`] keeps while it runs.
struct Run<'p> {
    plan: &'p Plan,
    outcomes: Vec<Option<Outcome>>,
    created: Created,
    on_outcome: OnOutcome,
    /// Per live role id, what it holds that rolecall does not manage.
    kept: HashMap<String, Kept>,
}

impl Run<'_> {
    fn record(&mut self, i: usize, outcome: Outcome) {
        (self.on_outcome)(&self.plan.changes[i], &outcome);
        self.outcomes[i] = Some(outcome);
    }

    /// The call a change needs, or why it must be skipped.
    fn prepare<W>(&self, step: &Step, template: &Call<W>) -> Result<Call<W>, Skip> {
        let roles = match step.change.user_after() {
            Some(after) => role_ids(&after.roles, &self.created).map_err(Skip::NeedsRoles)?,
            None => Vec::new(),
        };
        Ok(Call {
            writer: template.writer.clone(),
            actor: template.actor.clone(),
            everyone: template.everyone.clone(),
            roles,
            kept: match step.kind() {
                Kind::Role => step.change.id().and_then(|id| self.kept.get(id)).cloned(),
                Kind::User => None,
            },
        })
    }
}

/// Carries out `plan`: [`Phase::ALL`] in order, as many changes at once
/// within a phase as the writer's slots allow (for the RBAC client, its
/// [`periscope_client::Pace`], which adapts to the server up to the
/// client's `max_in_flight`). A user change that
/// needs a role whose create failed is skipped, not tried. After a stop, or
/// a `401`/`403` on any call, nothing more starts; calls in flight finish.
pub async fn execute<W: SiteWrite>(
    plan: &Plan,
    writer: Arc<W>,
    live: &Live,
    options: ExecuteOptions,
    on_outcome: OnOutcome,
) -> Report {
    let mut run = Run {
        plan,
        outcomes: vec![None; plan.changes.len()],
        created: Created::new(),
        on_outcome,
        kept: (live.roles.iter())
            .filter(|r| !r.kept.is_empty())
            .map(|r| (r.id.clone(), r.kept.clone()))
            .collect(),
    };
    let template = Call {
        writer,
        actor: plan.actor.clone(),
        everyone: live
            .roles
            .iter()
            .find(|r| key(&r.name) == key(EVERYONE))
            .map(|r| r.id.clone()),
        roles: Vec::new(),
        kept: None,
    };
    let refused = Arc::new(AtomicBool::new(false));
    for phase in Phase::ALL {
        let mut tasks = tokio::task::JoinSet::new();
        for (i, step) in plan.changes.iter().enumerate() {
            if step.change.phase() != phase {
                continue;
            }
            let call = match gate(&options.stop, &refused)
                .map_or_else(|| run.prepare(step, &template), Err)
            {
                Ok(call) => call,
                Err(skip) => {
                    run.record(i, Outcome::Skipped(skip));
                    continue;
                }
            };
            let change = step.change.clone();
            let (stop, refused) = (options.stop.clone(), refused.clone());
            tasks.spawn(async move {
                let _slot = call.writer.slot().await;
                // Checked again once a slot is free: a stop while waiting counts.
                if let Some(skip) = gate(&stop, &refused) {
                    return (i, Err(skip));
                }
                let result = run_settled(&change, &call).await;
                if let Err(e) = &result
                    && matches!(e.status(), Some(401 | 403))
                {
                    refused.store(true, Ordering::SeqCst);
                }
                (i, Ok(result))
            });
        }
        while let Some(joined) = tasks.join_next().await {
            let (i, result) = joined.expect("an apply task panicked");
            let outcome = match result {
                Err(skip) => Outcome::Skipped(skip),
                Ok(Ok(learnt)) => {
                    run.created.extend(learnt);
                    Outcome::Done
                }
                Ok(Err(e)) => Outcome::Failed(Failure::from(&e)),
            };
            run.record(i, outcome);
        }
    }
    Report {
        outcomes: run
            .outcomes
            .into_iter()
            .map(|o| o.expect("every change has an outcome"))
            .collect(),
        interrupted: options.stop.is_stopped(),
        credentials_refused: refused.load(Ordering::SeqCst),
    }
}
