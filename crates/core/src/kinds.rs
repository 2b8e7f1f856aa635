//! The words shared by the config, the live site and plans: which kind of
//! object a change is on, the risks a change may carry, and the checksums
//! that tell whether an object changed. A leaf module:
//! it depends on nothing of the crate, so that the model and the live site
//! can name them without depending on plans.

use serde::{Deserialize, Serialize};

/// What a change is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A role.
    Role,
    /// A user.
    User,
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Kind::Role => "role",
            Kind::User => "user",
        })
    }
}

/// Why a change deserves a reviewer's attention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Risk {
    /// A user gains the Admin role.
    AdminGrant,
    /// The Admin role's own rights change.
    AdminRole,
    /// The Everyone role changes: it applies to every user.
    Everyone,
    /// A membership, privilege or dashboard grant is taken away.
    Revoke,
    /// A user keeps the account but loses every role (`prune.users: strip`).
    StripUser,
    /// A user account is deleted.
    DeleteUser,
    /// A role is deleted; its members lose it.
    DeleteRole,
    /// A role gets a new name.
    RenameRole,
    /// An Admin member that the config neither lists nor protects.
    UnmanagedAdmin,
    /// A change to Everyone that gives a new action: it reaches every user.
    EveryoneExposure,
    /// One change gives many users (more than `limits.wide_grant`) a new action.
    WideGrant,
    /// A membership past its `until` is taken away.
    Expired,
    /// A membership or a role taken away holds rights rolecall does not
    /// manage (Topics, Spaces): its members lose them too.
    UnmanagedRights,
}

impl Risk {
    /// Every risk, in order.
    pub const ALL: [Risk; 13] = [
        Risk::AdminGrant,
        Risk::AdminRole,
        Risk::Everyone,
        Risk::Revoke,
        Risk::StripUser,
        Risk::DeleteUser,
        Risk::DeleteRole,
        Risk::RenameRole,
        Risk::UnmanagedAdmin,
        Risk::EveryoneExposure,
        Risk::WideGrant,
        Risk::Expired,
        Risk::UnmanagedRights,
    ];

    /// As written: `admin-grant`.
    pub fn as_str(self) -> &'static str {
        match self {
            Risk::AdminGrant => "admin-grant",
            Risk::AdminRole => "admin-role",
            Risk::Everyone => "everyone",
            Risk::Revoke => "revoke",
            Risk::StripUser => "strip-user",
            Risk::DeleteUser => "delete-user",
            Risk::DeleteRole => "delete-role",
            Risk::RenameRole => "rename-role",
            Risk::UnmanagedAdmin => "unmanaged-admin",
            Risk::EveryoneExposure => "everyone-exposure",
            Risk::WideGrant => "wide-grant",
            Risk::Expired => "expired",
            Risk::UnmanagedRights => "unmanaged-rights",
        }
    }
}

/// A kind of object a role's grants are on, from the vocabulary
/// (`docs/periscope-api.md`): what the API calls an `object_type` with
/// per-object permissions. Adding one is this enum, the config's
/// conversion and schema, the listing of its objects, and the emulator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ObjectKind {
    /// A dashboard, granted on by `dashboards:` in a role.
    Dashboard,
}

impl ObjectKind {
    /// Every kind, in order.
    pub const ALL: [ObjectKind; 1] = [ObjectKind::Dashboard];

    /// The API's `object_type`.
    pub fn api_type(self) -> &'static str {
        match self {
            ObjectKind::Dashboard => "Dashboard",
        }
    }

    /// The kind of an API `object_type`, if rolecall grants on it.
    pub fn of_api_type(object_type: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.api_type() == object_type)
    }

    /// One object, in prose and in checksum keys: `dashboard`.
    pub fn word(self) -> &'static str {
        match self {
            ObjectKind::Dashboard => "dashboard",
        }
    }

    /// The config key of a role's grants on this kind, and the field of a
    /// plan's role state: `dashboards`.
    pub fn plural(self) -> &'static str {
        match self {
            ObjectKind::Dashboard => "dashboards",
        }
    }

    /// Whether it is [`ObjectKind::Dashboard`].
    pub fn is_dashboard(&self) -> bool {
        *self == ObjectKind::Dashboard
    }

    fn of_word(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.word() == word)
    }
}

impl Serialize for ObjectKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.word())
    }
}

impl std::fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.word())
    }
}

/// One object a role's grants are on: its kind and its id on the site.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectRef {
    /// What it is.
    pub kind: ObjectKind,
    /// Its id on the site.
    pub id: String,
}

impl ObjectRef {
    /// A dashboard, by id.
    pub fn dashboard(id: impl Into<String>) -> Self {
        Self {
            kind: ObjectKind::Dashboard,
            id: id.into(),
        }
    }

    /// The key of a map of grants in files: the id alone for a dashboard
    /// (as format 2 writes it), `kind:id` for any other kind.
    pub fn map_key(&self) -> String {
        match self.kind {
            ObjectKind::Dashboard => self.id.clone(),
        }
    }

    /// Reads [`ObjectRef::map_key`] back.
    pub fn from_map_key(key: &str) -> Self {
        match key
            .split_once(':')
            .and_then(|(k, id)| Some((ObjectKind::of_word(k)?, id)))
        {
            Some((kind, id)) if kind != ObjectKind::Dashboard => Self {
                kind,
                id: id.to_string(),
            },
            _ => Self::dashboard(key),
        }
    }
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.kind, self.id)
    }
}

/// Grants keyed by object, serialized as a map keyed by
/// [`ObjectRef::map_key`]: `{"4711": ...}` for dashboards, as format 2
/// writes them (the checksums of live objects stay as they were).
pub mod by_object {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::ObjectRef;

    /// Writes the map with [`ObjectRef::map_key`] keys.
    pub fn serialize<V: Serialize, S: Serializer>(
        map: &BTreeMap<ObjectRef, V>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_map(map.iter().map(|(k, v)| (k.map_key(), v)))
    }

    /// Reads a map written by [`serialize`].
    pub fn deserialize<'de, V: Deserialize<'de>, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<ObjectRef, V>, D::Error> {
        let map = BTreeMap::<String, V>::deserialize(d)?;
        Ok(map
            .into_iter()
            .map(|(k, v)| (ObjectRef::from_map_key(&k), v))
            .collect())
    }
}

/// The key of a live object's checksum in a plan's `checksums` and
/// `made_from.objects`: written `role:<id>`, `user:<id>` or
/// `<object kind>:<id>` (`dashboard:<id>`). Ordered as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ChecksumKey {
    /// An object grants are on.
    Object(ObjectRef),
    /// A role, by id.
    Role(String),
    /// A user, by id.
    User(String),
}

impl ChecksumKey {
    /// The key of the user or role a change is on.
    pub fn of(kind: Kind, id: impl Into<String>) -> Self {
        match kind {
            Kind::Role => ChecksumKey::Role(id.into()),
            Kind::User => ChecksumKey::User(id.into()),
        }
    }

    /// The kind of a user's or a role's key.
    pub fn kind(&self) -> Option<Kind> {
        match self {
            ChecksumKey::Role(_) => Some(Kind::Role),
            ChecksumKey::User(_) => Some(Kind::User),
            ChecksumKey::Object(_) => None,
        }
    }
}

impl PartialOrd for ChecksumKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// As written: the order of a plan file's maps.
impl Ord for ChecksumKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.parts().cmp(&other.parts())
    }
}

impl ChecksumKey {
    /// As written, in two parts: `("dashboard", id)`.
    fn parts(&self) -> (&'static str, &str) {
        match self {
            ChecksumKey::Object(object) => (object.kind.word(), &object.id),
            ChecksumKey::Role(id) => ("role", id),
            ChecksumKey::User(id) => ("user", id),
        }
    }
}

impl std::fmt::Display for ChecksumKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (kind, id) = self.parts();
        write!(f, "{kind}:{id}")
    }
}

impl std::str::FromStr for ChecksumKey {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.split_once(':').filter(|(_, id)| !id.is_empty()) {
            Some(("role", id)) => Ok(ChecksumKey::Role(id.into())),
            Some(("user", id)) => Ok(ChecksumKey::User(id.into())),
            Some((word, id)) => match ObjectKind::of_word(word) {
                Some(kind) => Ok(ChecksumKey::Object(ObjectRef {
                    kind,
                    id: id.into(),
                })),
                None => Err(format!(
                    "`{s}` is not a checksum key (`role:ID`, `user:ID` or `dashboard:ID`)"
                )),
            },
            None => Err(format!(
                "`{s}` is not a checksum key (`role:ID`, `user:ID` or `dashboard:ID`)"
            )),
        }
    }
}

impl Serialize for ChecksumKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ChecksumKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// A stable checksum of an object (FNV-1a over its canonical JSON), so a
/// saved plan can tell whether the object changed since. A checksum, not a
/// signature: anyone who edits a plan file can compute it again, so it
/// proves nothing about who wrote the plan; what guards an apply is that it
/// plans again and compares, change by change (`pipeline::saved`). The
/// plan format calls these fields `digests` (format 2).
pub fn checksum<T: Serialize>(object: &T) -> String {
    let json = serde_json::to_vec(object).expect("live objects serialize");
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in json {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}
