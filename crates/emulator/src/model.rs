//! The API's objects as the emulator stores and serves them, and the snapshot
//! file that seeds a site (`{"site", "api_key"?, "users", "roles", "dashboards"}`).

use serde::{Deserialize, Deserializer, Serialize};

/// An id as the API may send it: a JSON string or number, kept as a string.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Id(pub String);

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Str(String),
            Int(u64),
        }
        Ok(Id(match Raw::deserialize(d)? {
            Raw::Str(s) => s,
            Raw::Int(n) => n.to_string(),
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

/// A user of the site, with its role membership.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// The user's id.
    pub id: Id,
    /// The user's email; unique per site, in any case.
    pub email: String,
    /// The user's first name.
    pub first_name: String,
    /// The user's last name.
    pub last_name: String,
    /// Role ids; always holds Everyone.
    #[serde(default)]
    pub roles: Vec<Id>,
}

/// Role-wide actions on one object type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Privilege {
    /// The object type, such as `Dashboard`.
    pub object_type: String,
    /// The action names allowed, such as `read_dashboards`.
    pub permissions: Vec<String>,
}

/// Actions on one object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Permission {
    /// The object's type, such as `Dashboard`.
    pub object_type: String,
    /// The object's id.
    pub object_id: Id,
    /// The action names allowed on the object, such as `read_dashboards`.
    pub permissions: Vec<String>,
}

/// A role of the site: what its members may do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    /// The role's id.
    pub id: Id,
    /// The role's name; unique per site, in any case.
    pub name: String,
    /// The role's description.
    #[serde(default)]
    pub description: String,
    /// Role-wide actions, per object type.
    #[serde(default)]
    pub privileges: Vec<Privilege>,
    /// Grants on particular objects (dashboards).
    #[serde(default)]
    pub permissions: Vec<Permission>,
}

/// A dashboard of the site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dashboard {
    /// The dashboard's id.
    pub id: Id,
    /// The dashboard's name; not unique.
    pub name: String,
}

/// A whole site: what seeds the emulator and what it can dump.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Snapshot {
    /// The site name.
    pub site: String,
    /// Never written by `rolecall export`; a seed may set the key to accept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    /// Every user, membership included.
    #[serde(default)]
    pub users: Vec<User>,
    /// Every role.
    #[serde(default)]
    pub roles: Vec<Role>,
    /// Every dashboard.
    #[serde(default)]
    pub dashboards: Vec<Dashboard>,
}

impl Snapshot {
    /// Reads a snapshot file; the error names the file and the JSON position.
    pub fn from_file(path: &std::path::Path) -> Result<Self, crate::Error> {
        // A pipe or a device would be waited on, or read forever.
        if std::fs::metadata(path).is_ok_and(|m| !m.is_file()) {
            return Err(crate::Error::ReadSeed {
                path: path.to_path_buf(),
                source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a regular file"),
            });
        }
        let text = std::fs::read_to_string(path).map_err(|source| crate::Error::ReadSeed {
            path: path.to_path_buf(),
            source,
        })?;
        /// A snapshot file: where it was taken (`rolecall export --format
        /// snapshot`, for `rolecall plan --from-snapshot`) is no seed's.
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct File {
            site: String,
            #[serde(default)]
            api_key: Option<String>,
            #[serde(default)]
            #[allow(dead_code)]
            taken: Option<serde::de::IgnoredAny>,
            #[serde(default)]
            users: Vec<User>,
            #[serde(default)]
            roles: Vec<Role>,
            #[serde(default)]
            dashboards: Vec<Dashboard>,
        }
        let file: File = serde_json::from_str(&text).map_err(|source| crate::Error::ParseSeed {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(Snapshot {
            site: file.site,
            api_key: file.api_key,
            users: file.users,
            roles: file.roles,
            dashboards: file.dashboards,
        })
    }
}
