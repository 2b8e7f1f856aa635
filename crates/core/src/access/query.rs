//! What `rolecall access` asks: the entries of some users (by email, or the
//! members of a role), on one dashboard (by name or `#id`) or all, of one
//! action or all; and the ends of the memberships behind each row.

use super::{Entry, Evaluator, Row};
use crate::Desired;
use crate::config::vocab::key;
use crate::kinds::ObjectKind;
use crate::live::{Live, LiveObject, LiveUser};

/// Which entries: each `None` is all.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<'a> {
    /// One user, by email (any case).
    pub user: Option<&'a str>,
    /// One dashboard: its name, or `#ID`.
    pub dashboard: Option<&'a str>,
    /// The members of one role, by name (any case).
    pub role: Option<&'a str>,
    /// One action.
    pub action: Option<&'a str>,
}

/// A name in a query that the site does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// `--dashboard '#ID'`: no dashboard has the id.
    #[error("no dashboard on the site has the id `{0}`")]
    NoDashboardId(String),
    /// `--dashboard NAME`: no dashboard has the name.
    #[error("no dashboard on the site is named `{name}`")]
    NoDashboardNamed {
        /// The name asked for.
        name: String,
        /// The closest name the site has.
        like: Option<String>,
    },
    /// `--user`: no user has the email.
    #[error("no user on the site is `{0}`")]
    NoUser(String),
    /// `--role`: no role has the name.
    #[error("no role on the site is named `{0}`")]
    NoRole(String),
}

fn dashboards_of(live: &Live) -> impl Iterator<Item = &LiveObject> {
    live.objects_of(ObjectKind::Dashboard)
}

/// The dashboard ids a `--dashboard` names: `#ID`, or every dashboard of
/// that name.
fn dashboards(live: &Live, wanted: &str) -> Result<Vec<String>, QueryError> {
    if let Some(id) = wanted.strip_prefix('#') {
        return match dashboards_of(live).any(|d| d.id == id) {
            true => Ok(vec![id.to_string()]),
            false => Err(QueryError::NoDashboardId(id.to_string())),
        };
    }
    let ids: Vec<String> = (dashboards_of(live))
        .filter(|d| d.name == wanted)
        .map(|d| d.id.clone())
        .collect();
    if ids.is_empty() {
        let names: Vec<&str> = dashboards_of(live).map(|d| d.name.as_str()).collect();
        return Err(QueryError::NoDashboardNamed {
            name: wanted.to_string(),
            like: crate::diagnostic::did_you_mean(wanted, names).map(str::to_string),
        });
    }
    Ok(ids)
}

/// The users asked about, by email.
fn users<'l>(live: &'l Live, q: &Query<'_>) -> Result<Vec<&'l LiveUser>, QueryError> {
    let mut users: Vec<&LiveUser> = live.users.iter().collect();
    if let Some(email) = q.user {
        users.retain(|u| key(&u.email) == key(email));
        if users.is_empty() {
            return Err(QueryError::NoUser(email.to_string()));
        }
    }
    if let Some(name) = q.role {
        let role = (live.roles.iter())
            .find(|r| key(&r.name) == key(name))
            .ok_or_else(|| QueryError::NoRole(name.to_string()))?;
        users.retain(|u| u.roles.contains(&role.id));
    }
    users.sort_by_key(|u| key(&u.email));
    Ok(users)
}

/// The entries `q` asks for, user by user (a narrow query never builds the
/// whole users x dashboards product).
pub fn query(
    live: &Live,
    evaluator: &Evaluator<'_>,
    q: &Query<'_>,
) -> Result<Vec<Entry>, QueryError> {
    let mut out = Vec::new();
    each_user(live, evaluator, q, false, |entries| {
        out.extend(entries);
        Ok(())
    })
    .map_err(|e| match e {
        StreamError::Query(q) => q,
        StreamError::Io(_) => unreachable!("collecting into memory does not fail"),
    })?;
    Ok(out)
}

/// Why a streamed report stopped.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// A name the site does not have.
    #[error(transparent)]
    Query(#[from] QueryError),
    /// The output could not be written.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// The entries `q` asks for, handed over one user at a time (users whose
/// emails differ only in case together), in the report's order; Admin
/// members skipped unless `admins`.
fn each_user(
    live: &Live,
    evaluator: &Evaluator<'_>,
    q: &Query<'_>,
    skip_admins: bool,
    mut each: impl FnMut(Vec<Entry>) -> Result<(), StreamError>,
) -> Result<(), StreamError> {
    let only = q.dashboard.map(|d| dashboards(live, d)).transpose()?;
    let users = users(live, q)?;
    for group in users.chunk_by(|a, b| key(&a.email) == key(&b.email)) {
        let mut out = Vec::new();
        for user in group {
            if skip_admins && evaluator.is_admin(user) {
                continue;
            }
            match &only {
                None => out.extend(evaluator.user(user, None)),
                Some(ids) => {
                    for id in ids {
                        out.extend(evaluator.user(user, Some(id)));
                    }
                }
            }
        }
        if let Some(action) = q.action {
            out.retain(|e| e.action == action);
        }
        each(out)?;
    }
    Ok(())
}

/// The CSV report of `q`, written as it is computed: memory holds one
/// user's rows at a time, whatever the site's size. Admin members' rows
/// only with `expand_admins` (else the report names them elsewhere).
/// Returns the rows written.
pub fn write_csv<W: std::io::Write>(
    live: &Live,
    evaluator: &Evaluator<'_>,
    q: &Query<'_>,
    expand_admins: bool,
    out: W,
) -> Result<u64, StreamError> {
    // Checked before a byte is written: a bad name writes nothing.
    dashboards_checked(live, q)?;
    let mut sheet = crate::review::files::Sheet::to(out);
    sheet.row(super::render::CSV_HEADER)?;
    let mut n = 0;
    each_user(live, evaluator, q, !expand_admins, |entries| {
        for row in super::rows(&entries) {
            n += super::render::csv_rows(&row, &mut sheet)?;
        }
        Ok(())
    })?;
    sheet.flush()?;
    Ok(n)
}

fn dashboards_checked(live: &Live, q: &Query<'_>) -> Result<(), QueryError> {
    q.dashboard.map(|d| dashboards(live, d)).transpose()?;
    users(live, q).map(drop)
}

/// Each role's `until` for the row's user, as the config gives it.
pub fn with_ends(rows: &mut [Row], desired: &Desired) {
    for row in rows {
        let Some(user) = desired.users.get(&key(&row.user)) else {
            continue;
        };
        for via in &mut row.via {
            via.until = (user.roles.get(&key(&via.role)))
                .and_then(|r| r.until)
                .map(|d| d.to_string());
        }
    }
}
