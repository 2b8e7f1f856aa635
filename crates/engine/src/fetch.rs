//! The site as the API client reads it, in the core's types.

use std::collections::{BTreeMap, BTreeSet};

use periscope_client::{Dashboard, Id, LiveSite, Permission, Privilege, ReadClient, Role, User};
use rolecall_core::config::vocab::{OBJECT_TYPES, is_action};
use rolecall_core::kinds::{ObjectKind, ObjectRef};
use rolecall_core::live::{Kept, Live, LiveObject, LiveRole, LiveUser};
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
        objects: site
            .dashboards
            .into_iter()
            .map(|d| LiveObject::dashboard(d.id.0, d.name))
            .collect(),
    }
}

/// Privileges merged per object type; grants per object.
/// What rolecall cannot express — privileges and grants on object types
/// outside its vocabulary, and actions it does not know — is kept apart
/// ([`Kept`]): shown as not managed, sent back on every write.
pub(crate) fn live_role(r: Role) -> LiveRole {
    let managed = |t: &str| OBJECT_TYPES.contains(&t);
    let mut privileges = BTreeMap::<String, BTreeSet<String>>::new();
    let mut kept = Kept::default();
    for p in r.privileges {
        if !managed(&p.object_type) {
            (kept.privileges.entry(p.object_type))
                .or_default()
                .extend(p.permissions);
            continue;
        }
        let (known, unknown) = known_actions(p.permissions);
        if !unknown.is_empty() {
            (kept.privileges.entry(p.object_type.clone()))
                .or_default()
                .extend(unknown);
        }
        privileges.entry(p.object_type).or_default().extend(known);
    }
    let mut grants = BTreeMap::<ObjectRef, BTreeSet<String>>::new();
    for p in r.permissions {
        let Some(kind) = ObjectKind::of_api_type(&p.object_type) else {
            let objects = kept.grants.entry(p.object_type).or_default();
            objects
                .entry(p.object_id.0)
                .or_default()
                .extend(p.permissions);
            continue;
        };
        let (known, unknown) = known_actions(p.permissions);
        if !unknown.is_empty() {
            let objects = kept.grants.entry(p.object_type).or_default();
            objects
                .entry(p.object_id.0.clone())
                .or_default()
                .extend(unknown);
        }
        let object = ObjectRef {
            kind,
            id: p.object_id.0,
        };
        grants.entry(object).or_default().extend(known);
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

/// The actions rolecall knows, and the others.
fn known_actions(actions: Vec<String>) -> (Vec<String>, Vec<String>) {
    actions.into_iter().partition(|a| is_action(a))
}

/// A role's privileges as the API takes them: rolecall's and what it keeps,
/// one entry per object type.
pub fn privileges_with(
    privileges: &BTreeMap<String, BTreeSet<String>>,
    kept: Option<&Kept>,
) -> Vec<Privilege> {
    let mut all = privileges.clone();
    for (t, a) in kept.into_iter().flat_map(|k| &k.privileges) {
        all.entry(t.clone()).or_default().extend(a.iter().cloned());
    }
    all.into_iter()
        .map(|(t, a)| Privilege {
            object_type: t,
            permissions: a.into_iter().collect(),
        })
        .collect()
}

/// A role's per-object grants as the API takes them: rolecall's and what
/// it keeps, one entry per object.
pub fn permissions_with<'a>(
    grants: impl Iterator<Item = (&'a ObjectRef, &'a BTreeSet<String>)>,
    kept: Option<&Kept>,
) -> Vec<Permission> {
    let mut all = BTreeMap::<(String, String), BTreeSet<String>>::new();
    for (object, a) in grants {
        all.entry((object.kind.api_type().to_string(), object.id.clone()))
            .or_default()
            .extend(a.iter().cloned());
    }
    for (t, objects) in kept.into_iter().flat_map(|k| &k.grants) {
        for (id, a) in objects {
            all.entry((t.clone(), id.clone()))
                .or_default()
                .extend(a.iter().cloned());
        }
    }
    all.into_iter()
        .map(|((t, id), a)| Permission {
            object_type: t,
            object_id: Id(id),
            permissions: a.into_iter().collect(),
        })
        .collect()
}

/// The site as the API shows it, for an emulator seed or a keyless plan
/// (`{"site", "taken"?, "users", "roles", "dashboards"}`); never with a key.
pub fn snapshot(site: &str, taken: Option<&Taken>, live: &Live) -> serde_json::Value {
    use serde_json::json;
    let mut users: Vec<&LiveUser> = live.users.iter().collect();
    users.sort_by(|a, b| a.id.cmp(&b.id));
    let mut roles: Vec<&LiveRole> = live.roles.iter().collect();
    roles.sort_by(|a, b| a.id.cmp(&b.id));
    let mut dashboards: Vec<&LiveObject> = live.objects_of(ObjectKind::Dashboard).collect();
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
