//! The live site as the diff sees it: what the API client read, in plain
//! types (this crate knows no HTTP).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::kinds::{ChecksumKey, ObjectKind, ObjectRef};

pub use crate::kinds::checksum;

/// The site as read: every user, role and object grants are on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Live {
    /// Every user.
    pub users: Vec<LiveUser>,
    /// Every role, Admin and Everyone included.
    pub roles: Vec<LiveRole>,
    /// The objects grants can be on (dashboards), with their names.
    pub objects: Vec<LiveObject>,
}

/// A user of the site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LiveUser {
    /// Its id.
    pub id: String,
    /// Its email, as the site has it.
    pub email: String,
    /// Its first name.
    pub first_name: String,
    /// Its last name.
    pub last_name: String,
    /// Role ids, Everyone included.
    pub roles: BTreeSet<String>,
}

/// A role of the site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LiveRole {
    /// Its id.
    pub id: String,
    /// Its name, as the site spells it.
    pub name: String,
    /// Its description.
    pub description: String,
    /// Actions per object type.
    pub privileges: BTreeMap<String, BTreeSet<String>>,
    /// Actions per object (written one map per kind, keyed by id).
    #[serde(flatten, serialize_with = "crate::kinds::by_kind::grants::serialize")]
    pub grants: BTreeMap<ObjectRef, BTreeSet<String>>,
    /// What rolecall cannot express (rights on Topics and Spaces, actions
    /// it does not know): never changed, sent back as read on every write.
    #[serde(default, skip_serializing_if = "Kept::is_empty")]
    pub kept: Kept,
}

/// What a role holds that rolecall cannot express: privileges and grants on
/// object types outside its vocabulary, and actions it does not know on
/// the ones inside it. A plan shows it as not managed;
/// every write of the role sends it back unchanged, so it is never removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Kept {
    /// Actions per object type.
    pub privileges: BTreeMap<String, BTreeSet<String>>,
    /// Actions per object: object type -> object id -> actions.
    pub grants: BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
}

impl Kept {
    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.privileges.is_empty() && self.grants.is_empty()
    }

    /// The object types it is on, sorted.
    pub fn object_types(&self) -> Vec<&str> {
        let mut types: Vec<&str> = (self.privileges.keys())
            .chain(self.grants.keys())
            .map(String::as_str)
            .collect();
        types.sort_unstable();
        types.dedup();
        types
    }

    /// Privileges and grants, one per object type or object.
    pub fn count(&self) -> usize {
        self.privileges.len() + self.grants.values().map(BTreeMap::len).sum::<usize>()
    }
}

/// An object grants can be on, as the site lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LiveObject {
    /// What it is (written only when not a dashboard: the checksums of
    /// format 2 stay as they were).
    #[serde(skip_serializing_if = "ObjectKind::is_dashboard")]
    pub kind: ObjectKind,
    /// Its id.
    pub id: String,
    /// Its name on the site.
    pub name: String,
}

impl LiveObject {
    /// A dashboard.
    pub fn dashboard(id: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            kind: ObjectKind::Dashboard,
            id: id.into(),
            name: name.into(),
        }
    }

    /// Which object it is.
    pub fn object_ref(&self) -> ObjectRef {
        ObjectRef {
            kind: self.kind,
            id: self.id.clone(),
        }
    }
}

impl Live {
    /// A checksum of the whole site, whatever order it was listed in: a saved
    /// plan records it, so that `apply` can tell "the site changed" from
    /// "the plan file was edited".
    pub fn checksum(&self) -> String {
        let mut users: Vec<&LiveUser> = self.users.iter().collect();
        users.sort_by(|a, b| a.id.cmp(&b.id));
        let mut roles: Vec<&LiveRole> = self.roles.iter().collect();
        roles.sort_by(|a, b| a.id.cmp(&b.id));
        let mut objects: Vec<&LiveObject> = self.objects.iter().collect();
        objects.sort_by(|a, b| (a.kind, &a.id).cmp(&(b.kind, &b.id)));
        checksum(&(users, roles, objects))
    }
}

impl Live {
    /// The objects of one kind (the dashboards).
    pub fn objects_of(&self, kind: ObjectKind) -> impl Iterator<Item = &LiveObject> {
        self.objects.iter().filter(move |o| o.kind == kind)
    }

    /// A checksum of each user, role and object.
    pub fn object_checksums(&self) -> BTreeMap<ChecksumKey, String> {
        let users = self
            .users
            .iter()
            .map(|u| (ChecksumKey::User(u.id.clone()), checksum(u)));
        let roles = self
            .roles
            .iter()
            .map(|r| (ChecksumKey::Role(r.id.clone()), checksum(r)));
        let objects = self
            .objects
            .iter()
            .map(|o| (ChecksumKey::Object(o.object_ref()), checksum(o)));
        users.chain(roles).chain(objects).collect()
    }
}

/// What a role holds that the config cannot express, in short.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeptRights {
    /// The role's name.
    pub role: String,
    /// The object types, sorted.
    pub object_types: Vec<String>,
    /// Privileges and grants, one per object type or object.
    pub count: usize,
}

impl KeptRights {
    /// The roles of `live` that hold such rights, by name.
    pub fn of(live: &Live) -> Vec<KeptRights> {
        let mut kept: Vec<KeptRights> = (live.roles.iter())
            .filter(|r| !r.kept.is_empty())
            .map(|r| KeptRights {
                role: r.name.clone(),
                object_types: r
                    .kept
                    .object_types()
                    .into_iter()
                    .map(String::from)
                    .collect(),
                count: r.kept.count(),
            })
            .collect();
        kept.sort_by(|a, b| a.role.cmp(&b.role));
        kept
    }
}

impl std::fmt::Display for KeptRights {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let clean = crate::text::code_text;
        write!(
            f,
            "role `{}` holds {} on {} that rolecall does not manage: kept as they are on every write",
            clean(&self.role),
            crate::diagnostic::plural(self.count, "right"),
            self.object_types
                .iter()
                .map(|t| format!("`{}`", clean(t)))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}
