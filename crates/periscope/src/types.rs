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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: Id,
    pub email: String,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub first_name: String,
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
    pub object_type: String,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub permissions: Vec<String>,
}

/// Actions on one object (a dashboard).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permission {
    pub object_type: String,
    pub object_id: Id,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub permissions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    pub id: Id,
    pub name: String,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub description: String,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub privileges: Vec<Privilege>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub permissions: Vec<Permission>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dashboard {
    pub id: Id,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub name: String,
}

/// Everything the client reads of a site.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveSite {
    pub users: Vec<User>,
    pub roles: Vec<Role>,
    pub dashboards: Vec<Dashboard>,
}

/// `POST /api/v2/users`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewUser {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub roles: Vec<Id>,
    pub invited_by_email: String,
}

/// `PUT /api/v2/users/{id}`: the fields present change; `roles` replaces the
/// membership.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UserUpdate {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<Id>>,
}

/// `POST /api/v1/roles`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewRole {
    pub name: String,
    pub description: String,
    pub created_by_email: String,
    pub privileges: Vec<Privilege>,
    pub permissions: Vec<Permission>,
}

/// `PUT /api/v1/roles/{id}`: a list that is present replaces the stored one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RoleUpdate {
    pub updated_by_email: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub privileges: Option<Vec<Privilege>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<Permission>>,
}
