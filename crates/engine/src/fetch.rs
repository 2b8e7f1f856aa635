//! Reading a site, and snapshots of it: a read written to a file with
//! where and when it was taken, read back to plan without a key.

use periscope_client::{Dashboard, LiveSite, Role, User};
use rolecall_core::kinds::ObjectKind;
use rolecall_core::live::{Live, LiveObject, LiveRole, LiveUser};

use crate::rbac::{permissions_with, privileges_with, to_live};
use crate::site::SiteRead;
use rolecall_core::plan::Taken;
use serde::Deserialize;

/// Reads the whole site: users, roles and the objects grants are on, all
/// of it or an error (never a failure read as "absent").
pub async fn fetch<R: SiteRead>(reader: &R) -> Result<Live, R::Error> {
    reader.read_site().await
}

/// The site as the API shows it, for an emulator seed or a keyless plan
/// (`{"site", "taken"?, "users", "roles", "dashboards"}`); never with a key.
/// Serialized as it goes (its keys in order, as a JSON tree would have
/// them): a site of 50,000 users is never held twice.
pub fn snapshot<'a>(
    site: &'a str,
    taken: Option<&'a Taken>,
    live: &'a Live,
) -> impl serde::Serialize + 'a {
    use serde_json::json;
    let mut users: Vec<&LiveUser> = live.users.iter().collect();
    users.sort_by(|a, b| a.id.cmp(&b.id));
    let mut roles: Vec<&LiveRole> = live.roles.iter().collect();
    roles.sort_by(|a, b| a.id.cmp(&b.id));
    let mut dashboards: Vec<&LiveObject> = live.objects_of(ObjectKind::Dashboard).collect();
    dashboards.sort_by(|a, b| a.id.cmp(&b.id));
    SnapshotOut {
        dashboards: dashboards
            .iter()
            .map(|d| DashboardOut {
                id: &d.id,
                name: &d.name,
            })
            .collect(),
        roles: roles
            .iter()
            .map(|r| {
                json!({
                    "id": r.id, "name": r.name, "description": r.description,
                    "privileges": privileges_with(&r.privileges, Some(&r.kept)),
                    "permissions": permissions_with(r.grants.iter(), Some(&r.kept)),
                })
            })
            .collect(),
        site,
        // Its keys sorted, as in a JSON tree.
        taken: taken.map(|t| json!(t)),
        users: users
            .iter()
            .map(|u| UserOut {
                email: &u.email,
                first_name: &u.first_name,
                id: &u.id,
                last_name: &u.last_name,
                roles: &u.roles,
            })
            .collect(),
    }
}

/// A snapshot as written: the keys in alphabetical order.
#[derive(serde::Serialize)]
struct SnapshotOut<'a> {
    dashboards: Vec<DashboardOut<'a>>,
    roles: Vec<serde_json::Value>,
    site: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    taken: Option<serde_json::Value>,
    users: Vec<UserOut<'a>>,
}

#[derive(serde::Serialize)]
struct DashboardOut<'a> {
    id: &'a str,
    name: &'a str,
}

#[derive(serde::Serialize)]
struct UserOut<'a> {
    email: &'a str,
    first_name: &'a str,
    id: &'a str,
    last_name: &'a str,
    roles: &'a std::collections::BTreeSet<String>,
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
    /// The site the snapshot is of.
    pub site: String,
    /// Where and when it was taken.
    pub taken: Taken,
    /// The site as it was then.
    pub live: Live,
}

/// Why a snapshot cannot be planned against.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// Not JSON of a snapshot.
    #[error("not a snapshot: {0}")]
    Invalid(#[from] serde_json::Error),
    #[error(
        "it does not say where it was taken (an emulator seed, or written by an older rolecall)"
    )]
    /// No `taken`: it cannot be told from a hand-made file.
    Untaken,
    #[error(
        "it was edited after it was taken: its content's checksum is {found}, it records {recorded}"
    )]
    /// Its content no longer has the checksum it records.
    Edited {
        /// The checksum it records.
        recorded: String,
        /// The checksum of its content.
        found: String,
    },
}

/// Reads a snapshot written by [`snapshot`] with where it was taken; its
/// content must still have the checksum it records.
pub fn read_snapshot(text: &str) -> Result<Recorded, SnapshotError> {
    let file: SnapshotFile = serde_json::from_str(text)?;
    let taken = file.taken.ok_or(SnapshotError::Untaken)?;
    let live = to_live(LiveSite {
        users: file.users,
        roles: file.roles,
        dashboards: file.dashboards,
    });
    let found = live.checksum();
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
