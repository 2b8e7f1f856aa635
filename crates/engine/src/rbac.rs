//! The RBAC edition's User & Role Management API as a [`SiteRead`] and
//! [`SiteWrite`]: the periscope client's types turned into the core's and
//! back (`docs/periscope-api.md`).

use std::collections::{BTreeMap, BTreeSet};

use periscope_client::{
    Error, Id, LiveSite, NewRole, NewUser, PacePermit, Permission, Privilege, ReadClient, Role,
    RoleUpdate, UserUpdate, Writer,
};
use rolecall_core::config::vocab::{OBJECT_TYPES, is_action};
use rolecall_core::kinds::{ObjectKind, ObjectRef};
use rolecall_core::live::{Kept, Live, LiveObject, LiveRole, LiveUser};
use rolecall_core::plan::{RoleState, UserState};

use crate::site::{CallError, RoleWrite, SiteRead, SiteWrite, UserWrite};

impl CallError for Error {
    fn status(&self) -> Option<u16> {
        Error::status(self)
    }

    fn url(&self) -> Option<&str> {
        Error::url(self)
    }
}

impl SiteRead for ReadClient {
    type Error = Error;

    async fn read_site(&self) -> Result<Live, Error> {
        self.fetch_site().await.map(to_live)
    }

    async fn users(&self) -> Result<Vec<LiveUser>, Error> {
        Ok(self
            .list_users()
            .await?
            .into_iter()
            .map(live_user)
            .collect())
    }

    async fn roles(&self) -> Result<Vec<LiveRole>, Error> {
        Ok(self
            .list_roles()
            .await?
            .into_iter()
            .map(live_role)
            .collect())
    }
}

impl SiteRead for Writer {
    type Error = Error;

    async fn read_site(&self) -> Result<Live, Error> {
        self.reader().read_site().await
    }

    async fn users(&self) -> Result<Vec<LiveUser>, Error> {
        SiteRead::users(self.reader()).await
    }

    async fn roles(&self) -> Result<Vec<LiveRole>, Error> {
        SiteRead::roles(self.reader()).await
    }
}

impl SiteWrite for Writer {
    type Slot = PacePermit;

    async fn slot(&self) -> PacePermit {
        self.reader().pace().acquire().await
    }

    async fn create_role(&self, role: &RoleState, actor: &str) -> Result<String, Error> {
        let created = Writer::create_role(
            self,
            &NewRole {
                name: role.name.clone(),
                description: role.description.clone(),
                created_by_email: actor.to_string(),
                privileges: privileges_with(&role.privileges, None),
                permissions: permissions(role, None),
            },
        )
        .await?;
        Ok(match self.test_mode() {
            true => String::new(),
            false => created.id.0,
        })
    }

    async fn update_role(&self, id: &str, role: RoleWrite<'_>, actor: &str) -> Result<(), Error> {
        let update = RoleUpdate {
            updated_by_email: actor.to_string(),
            name: role.rename.then(|| role.state.name.clone()),
            description: Some(role.state.description.clone()),
            privileges: Some(privileges_with(&role.state.privileges, role.kept)),
            permissions: Some(permissions(role.state, role.kept)),
        };
        Writer::update_role(self, &Id(id.to_string()), &update).await?;
        Ok(())
    }

    async fn create_user(
        &self,
        user: &UserState,
        roles: &[String],
        actor: &str,
    ) -> Result<(), Error> {
        let user = NewUser {
            first_name: user.first_name.clone(),
            last_name: user.last_name.clone(),
            email: user.email.clone(),
            roles: roles.iter().cloned().map(Id).collect(),
            invited_by_email: actor.to_string(),
        };
        Writer::create_user(self, &user).await?;
        Ok(())
    }

    async fn update_user(&self, id: &str, update: &UserWrite) -> Result<(), Error> {
        let update = UserUpdate {
            first_name: update.first_name.clone(),
            last_name: update.last_name.clone(),
            roles: (update.roles.as_ref()).map(|r| r.iter().cloned().map(Id).collect()),
        };
        Writer::update_user(self, &Id(id.to_string()), &update).await?;
        Ok(())
    }

    async fn delete_user(&self, id: &str) -> Result<(), Error> {
        Writer::delete_user(self, &Id(id.to_string())).await
    }

    async fn delete_role(&self, id: &str) -> Result<(), Error> {
        Writer::delete_role(self, &Id(id.to_string())).await
    }
}

fn permissions(role: &RoleState, kept: Option<&Kept>) -> Vec<Permission> {
    permissions_with(role.grants.iter().map(|(id, g)| (id, &g.actions)), kept)
}

fn live_user(u: periscope_client::User) -> LiveUser {
    LiveUser {
        id: u.id.0,
        email: u.email,
        first_name: u.first_name,
        last_name: u.last_name,
        roles: u.roles.into_iter().map(|r| r.0).collect(),
    }
}

/// Reads the whole site: users, roles and dashboards, all of it or an
/// error (never a failure read as "absent").
pub async fn fetch(reader: &ReadClient) -> Result<Live, periscope_client::Error> {
    reader.fetch_site().await.map(to_live)
}

/// The client's view of the site in the core's types.
pub fn to_live(site: LiveSite) -> Live {
    Live {
        users: site.users.into_iter().map(live_user).collect(),
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
fn live_role(r: Role) -> LiveRole {
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
