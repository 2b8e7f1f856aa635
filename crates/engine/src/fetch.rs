//! The site as the API client reads it, in the core's types.

use std::collections::{BTreeMap, BTreeSet};

use periscope_client::{LiveSite, ReadClient, Role};
use rolecall_core::live::{Live, LiveDashboard, LiveRole, LiveUser};

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

/// Privileges merged per object type; grants on dashboards per id (grants
/// on other object types are not rolecall's).
pub(crate) fn live_role(r: Role) -> LiveRole {
    let mut privileges = BTreeMap::<String, BTreeSet<String>>::new();
    for p in r.privileges {
        privileges
            .entry(p.object_type)
            .or_default()
            .extend(p.permissions);
    }
    let mut grants = BTreeMap::<String, BTreeSet<String>>::new();
    for p in r
        .permissions
        .into_iter()
        .filter(|p| p.object_type == "Dashboard")
    {
        grants
            .entry(p.object_id.0)
            .or_default()
            .extend(p.permissions);
    }
    LiveRole {
        id: r.id.0,
        name: r.name,
        description: r.description,
        privileges,
        grants,
    }
}

/// The site as the API shows it, for an emulator seed
/// (`{"site", "users", "roles", "dashboards"}`); never with a key.
pub fn snapshot(site: &str, live: &Live) -> serde_json::Value {
    use serde_json::json;
    let mut users: Vec<&LiveUser> = live.users.iter().collect();
    users.sort_by(|a, b| a.id.cmp(&b.id));
    let mut roles: Vec<&LiveRole> = live.roles.iter().collect();
    roles.sort_by(|a, b| a.id.cmp(&b.id));
    let mut dashboards: Vec<&LiveDashboard> = live.dashboards.iter().collect();
    dashboards.sort_by(|a, b| a.id.cmp(&b.id));
    json!({
        "site": site,
        "users": users.iter().map(|u| json!({
            "id": u.id, "email": u.email, "first_name": u.first_name,
            "last_name": u.last_name, "roles": u.roles,
        })).collect::<Vec<_>>(),
        "roles": roles.iter().map(|r| json!({
            "id": r.id, "name": r.name, "description": r.description,
            "privileges": r.privileges.iter().map(|(t, a)| json!({"object_type": t, "permissions": a})).collect::<Vec<_>>(),
            "permissions": r.grants.iter().map(|(id, a)| json!({"object_type": "Dashboard", "object_id": id, "permissions": a})).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "dashboards": dashboards.iter().map(|d| json!({"id": d.id, "name": d.name})).collect::<Vec<_>>(),
    })
}
