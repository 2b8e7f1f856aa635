//! The site as the API client reads it, in the core's types.

use std::collections::{BTreeMap, BTreeSet};

use periscope_client::{Dashboard, Id, LiveSite, Permission, Privilege, ReadClient, Role, User};
use rolecall_core::config::vocab::OBJECT_TYPES;
use rolecall_core::live::{Kept, Live, LiveDashboard, LiveRole, LiveUser};
use rolecall_core::plan::Taken;
use serde::Deserialize;

/// Reads the whole site: users, roles and dashboards, all of it or an
/// error (never a failure read as "absent").
pub async fn fetch(reader: &ReadClient) -> Result<Live, periscope_client::Error> {
    reader.fetch_site().await.map(to_live)
}

/// The client's view of the site in the core's types.
pub fn to_live(site: LiveSite) -> Live {
    Live {
        users: site
            .users
            .into_iter()
            .map(|u| LiveUser {
                id: u.id.0,
                email: u.email,
                first_name: u.first_name,
                last_name: u.last_name,
                roles: u.roles.into_iter().map(|r| r.0).collect(),
            })
            .collect(),
        roles: site.roles.into_iter().map(live_role).collect(),
        dashboards: site
            .dashboards
            .into_iter()
            .map(|d| LiveDashboard {
                id: d.id.0,
                name: d.name,
            })
            .collect(),
    }
}

/// Privileges merged per object type; grants on dashboards per id.
/// Privileges and grants on object types outside rolecall's vocabulary are
/// kept apart ([`Kept`]): shown as not managed, sent back on every write.
pub(crate) fn live_role(r: Role) -> LiveRole {
    let managed = |t: &str| OBJECT_TYPES.contains(&t);
    let mut privileges = BTreeMap::<String, BTreeSet<String>>::new();
    let mut kept = Kept::default();
    for p in r.privileges {
        let into = if managed(&p.object_type) {
            &mut privileges
        } else {
            &mut kept.privileges
        };
        into.entry(p.object_type).or_default().extend(p.permissions);
    }
    let mut grants = BTreeMap::<String, BTreeSet<String>>::new();
    for p in r.permissions {
        if p.object_type == DASHBOARD {
            grants
                .entry(p.object_id.0)
                .or_default()
                .extend(p.permissions);
        } else {
            kept.grants
                .entry(p.object_type)
                .or_default()
                .entry(p.object_id.0)
                .or_default()
                .extend(p.permissions);
        }
    }
    LiveRole {
        id: r.id.0,
        name: r.name,
        description: r.description,
        privileges,
        grants,
        kept,
    }
}

/// The kind of object per-object grants of the config are on.
const DASHBOARD: &str = "Dashboard";

/// A role's privileges as the API takes them: rolecall's, then what it
/// keeps.
pub fn privileges_with(
    privileges: &BTreeMap<String, BTreeSet<String>>,
    kept: Option<&Kept>,
) -> Vec<Privilege> {
    let kept = kept.map(|k| &k.privileges);
    privileges
        .iter()
        .chain(kept.into_iter().flatten())
        .map(|(t, a)| Privilege {
            object_type: t.clone(),
            permissions: a.iter().cloned().collect(),
        })
        .collect()
}

/// A role's per-object grants as the API takes them: dashboards by id, then
/// what it keeps.
pub fn permissions_with<'a>(
    dashboards: impl Iterator<Item = (&'a String, &'a BTreeSet<String>)>,
    kept: Option<&Kept>,
) -> Vec<Permission> {
    let dashboards = dashboards.map(|(id, a)| Permission {
        object_type: DASHBOARD.into(),
        object_id: Id(id.clone()),
        permissions: a.iter().cloned().collect(),
    });
    let kept = (kept.into_iter().flat_map(|k| &k.grants))
        .flat_map(|(t, objects)| objects.iter().map(move |(id, a)| (t, id, a)))
        .map(|(t, id, a)| Permission {
            object_type: t.clone(),
            object_id: Id(id.clone()),
            permissions: a.iter().cloned().collect(),
        });
    dashboards.chain(kept).collect()
}

/// The site as the API shows it, for an emulator seed or a keyless plan
/// (`{"site", "taken"?, "users", "roles", "dashboards"}`); never with a key.
pub fn snapshot(site: &str, taken: Option<&Taken>, live: &Live) -> serde_json::Value {
    use serde_json::json;
    let mut users: Vec<&LiveUser> = live.users.iter().collect();
    users.sort_by(|a, b| a.id.cmp(&b.id));
    let mut roles: Vec<&LiveRole> = live.roles.iter().collect();
    roles.sort_by(|a, b| a.id.cmp(&b.id));
    let mut dashboards: Vec<&LiveDashboard> = live.dashboards.iter().collect();
    dashboards.sort_by(|a, b| a.id.cmp(&b.id));
    let mut value = json!({
        "site": site,
        "users": users.iter().map(|u| json!({
            "id": u.id, "email": u.email, "first_name": u.first_name,
            "last_name": u.last_name, "roles": u.roles,
        })).collect::<Vec<_>>(),
        "roles": roles.iter().map(|r| json!({
            "id": r.id, "name": r.name, "description": r.description,
            "privileges": privileges_with(&r.privileges, Some(&r.kept)),
            "permissions": permissions_with(r.grants.iter(), Some(&r.kept)),
        })).collect::<Vec<_>>(),
        "dashboards": dashboards.iter().map(|d| json!({"id": d.id, "name": d.name})).collect::<Vec<_>>(),
    });
    if let Some(taken) = taken {
        value["taken"] = json!(taken);
    }
    value
}

/// A snapshot file as [`read_snapshot`] reads it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SnapshotFile {
    site: String,
    #[serde(default)]
    taken: Option<Taken>,
    #[serde(default)]
    users: Vec<User>,
    #[serde(default)]
    roles: Vec<Role>,
    #[serde(default)]
    dashboards: Vec<Dashboard>,
}

/// A snapshot that says where and when it was taken, read back.
#[derive(Debug)]
pub struct Recorded {
    pub site: String,
    pub taken: Taken,
    pub live: Live,
}

/// Why a snapshot cannot be planned against.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("not a snapshot: {0}")]
    Invalid(#[from] serde_json::Error),
    #[error(
        "it does not say where it was taken (an emulator seed, or written by an older rolecall)"
    )]
    Untaken,
    #[error(
        "it was edited after it was taken: its content's digest is {found}, it records {recorded}"
    )]
    Edited { recorded: String, found: String },
}

/// Reads a snapshot written by [`snapshot`] with where it was taken; its
/// content must still have the digest it records.
pub fn read_snapshot(text: &str) -> Result<Recorded, SnapshotError> {
    let file: SnapshotFile = serde_json::from_str(text)?;
    let taken = file.taken.ok_or(SnapshotError::Untaken)?;
    let live = to_live(LiveSite {
        users: file.users,
        roles: file.roles,
        dashboards: file.dashboards,
    });
    let found = live.digest();
    if found != taken.digest {
        return Err(SnapshotError::Edited {
            recorded: taken.digest,
            found,
        });
    }
    Ok(Recorded {
        site: file.site,
        taken,
        live,
    })
}
