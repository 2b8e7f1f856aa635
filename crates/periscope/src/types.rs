//! The API's objects as the client reads and writes them. Decoding tolerates
//! what `docs/periscope-api.md` says to tolerate: ids as strings or numbers, extra
//! fields, a missing `roles` on a listed user.

use serde::{Deserialize, Deserializer, Serialize};

/// An opaque id: the API sends strings or numbers; it is kept as a string.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Id(pub String);

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Str(String),
            Int(i64),
            Uint(u64),
        }
        Ok(Id(match Raw::deserialize(d)? {
            Raw::Str(s) => s,
            Raw::Int(n) => n.to_string(),
            Raw::Uint(n) => n.to_string(),
        }))
    }
}

impl std::fmt::Display for Id {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for Id {
    fn from(s: &str) -> Self {
        Id(s.to_string())
    }
}

impl From<String> for Id {
    fn from(s: String) -> Self {
        Id(s)
    }
}

fn null_as_empty<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(
    d: D,
) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A user of a site, with its role membership.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// The user's id on the site.
    pub id: Id,
    /// The user's email, as the site stores it; unique per site, in any case.
    pub email: String,
    /// The user's first name; empty if the site sends none.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub first_name: String,
    /// The user's last name; empty if the site sends none.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub last_name: String,
    /// Role ids, Everyone included.
    pub roles: Vec<Id>,
}

/// A user as listed: `roles` may be missing, and then membership is unknown.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ListedUser {
    pub id: Id,
    pub email: String,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub first_name: String,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub last_name: String,
    #[serde(default)]
    pub roles: Option<Vec<Id>>,
}

/// Role-wide actions on one object type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Privilege {
    /// The object type, such as `Dashboard`.
    pub object_type: String,
    /// The action names allowed, such as `read_dashboards`.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub permissions: Vec<String>,
}

/// Actions on one object (a dashboard).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permission {
    /// The object's type, such as `Dashboard`.
    pub object_type: String,
    /// The object's id.
    pub object_id: Id,
    /// The action names allowed on the object, such as `read_dashboards`.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub permissions: Vec<String>,
}

/// A role of a site: what its members may do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    /// The role's id on the site.
    pub id: Id,
    /// The role's name; unique per site, in any case.
    pub name: String,
    /// The role's description; empty if the site sends none.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub description: String,
    /// Role-wide actions, per object type.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub privileges: Vec<Privilege>,
    /// Grants on particular objects (dashboards).
    #[serde(default, deserialize_with = "null_as_empty")]
    pub permissions: Vec<Permission>,
}

/// A dashboard of a site, as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dashboard {
    /// The dashboard's id on the site.
    pub id: Id,
    /// The dashboard's name; not unique, and empty if the site sends none.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub name: String,
}

/// Everything the client reads of a site.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveSite {
    /// Every user, membership included.
    pub users: Vec<User>,
    /// Every role.
    pub roles: Vec<Role>,
    /// Every dashboard.
    pub dashboards: Vec<Dashboard>,
}

/// `POST /api/v2/users`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewUser {
    /// The new user's first name.
    pub first_name: String,
    /// The new user's last name.
    pub last_name: String,
    /// The new user's email.
    pub email: String,
    /// The ids of the roles to put the user in.
    pub roles: Vec<Id>,
    /// The email of the existing user who invites the new one.
    pub invited_by_email: String,
}

/// `PUT /api/v2/users/{id}`: the fields present change; `roles` replaces the
/// membership.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UserUpdate {
    /// The new first name; `None` leaves it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// The new last name; `None` leaves it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// The ids of every role the user is to be in; `None` leaves the membership.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<Id>>,
}

/// `POST /api/v1/roles`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewRole {
    /// The new role's name.
    pub name: String,
    /// The new role's description.
    pub description: String,
    /// The email of the Admin user who creates the role.
    pub created_by_email: String,
    /// Role-wide actions, per object type.
    pub privileges: Vec<Privilege>,
    /// Grants on particular objects (dashboards).
    pub permissions: Vec<Permission>,
}

/// `PUT /api/v1/roles/{id}`: a list that is present replaces the stored one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RoleUpdate {
    /// The email of the Admin user who makes the change.
    pub updated_by_email: String,
    /// The new name; `None` leaves it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The new description; `None` leaves it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Role-wide actions replacing the stored ones; `None` leaves them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub privileges: Option<Vec<Privilege>>,
    /// Grants replacing the stored ones; `None` leaves them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<Permission>>,
}
