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
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.kind, self.id)
    }
}

/// Grants keyed by object, written one map per kind, each keyed by the
/// object's id alone (ids are opaque: no prefix can tell kinds apart).
/// Dashboards' map is always written, under the name the struct gave it in
/// format 2 (`dashboards` in a plan, `grants` in a live role), so that
/// plans and checksums stay as they were; another kind's map is written
/// under its plural (`topics`) when it holds any. Used with
/// `#[serde(flatten, with = ...)]`.
pub mod by_kind {
    use std::collections::BTreeMap;
    use std::fmt;

    use serde::de::{self, MapAccess, Visitor};
    use serde::ser::SerializeMap;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::{ObjectKind, ObjectRef};

    fn field(kind: ObjectKind, dashboards: &'static str) -> &'static str {
        match kind {
            ObjectKind::Dashboard => dashboards,
        }
    }

    fn write<V: Serialize, S: Serializer>(
        map: &BTreeMap<ObjectRef, V>,
        dashboards: &'static str,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let mut out = s.serialize_map(None)?;
        for kind in ObjectKind::ALL {
            let of_kind: BTreeMap<&str, &V> = (map.iter())
                .filter(|(o, _)| o.kind == kind)
                .map(|(o, v)| (o.id.as_str(), v))
                .collect();
            if kind == ObjectKind::Dashboard || !of_kind.is_empty() {
                out.serialize_entry(field(kind, dashboards), &of_kind)?;
            }
        }
        out.end()
    }

    fn read<'de, V: Deserialize<'de>, D: Deserializer<'de>>(
        d: D,
        dashboards: &'static str,
    ) -> Result<BTreeMap<ObjectRef, V>, D::Error> {
        struct Kinds<V>(&'static str, std::marker::PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for Kinds<V> {
            type Value = BTreeMap<ObjectRef, V>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "`{}`: grants by object id", self.0)
            }

            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
                let mut out = BTreeMap::new();
                while let Some(key) = access.next_key::<String>()? {
                    let Some(kind) = ObjectKind::ALL
                        .into_iter()
                        .find(|k| field(*k, self.0) == key)
                    else {
                        return Err(de::Error::unknown_field(&key, &[]));
                    };
                    let grants: BTreeMap<String, V> = access.next_value()?;
                    out.extend(
                        grants
                            .into_iter()
                            .map(|(id, v)| (ObjectRef { kind, id }, v)),
                    );
                }
                Ok(out)
            }
        }
        d.deserialize_map(Kinds(dashboards, std::marker::PhantomData))
    }

    /// A plan's role state: dashboards under `dashboards`.
    pub mod dashboards {
        use super::*;

        /// Writes the grants.
        pub fn serialize<V: Serialize, S: Serializer>(
            map: &BTreeMap<ObjectRef, V>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            write(map, "dashboards", s)
        }

        /// Reads them back.
        pub fn deserialize<'de, V: Deserialize<'de>, D: Deserializer<'de>>(
            d: D,
        ) -> Result<BTreeMap<ObjectRef, V>, D::Error> {
            read(d, "dashboards")
        }
    }

    /// A live role (for its checksum): dashboards under `grants`.
    pub mod grants {
        use super::*;

        /// Writes the grants.
        pub fn serialize<V: Serialize, S: Serializer>(
            map: &BTreeMap<ObjectRef, V>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            write(map, "grants", s)
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct State {
        name: String,
        #[serde(flatten, with = "by_kind::dashboards")]
        grants: std::collections::BTreeMap<ObjectRef, u8>,
    }

    #[test]
    fn grants_are_written_per_kind_and_any_id_reads_back_as_itself() {
        // Ids are opaque: one that looks like a prefix stays a dashboard's.
        let state = State {
            name: "R".into(),
            grants: [
                (ObjectRef::dashboard("topic:5"), 1),
                (ObjectRef::dashboard("7"), 2),
            ]
            .into(),
        };
        let json = serde_json::to_string(&state).unwrap();
        assert_eq!(json, r#"{"name":"R","dashboards":{"7":2,"topic:5":1}}"#);
        assert_eq!(serde_json::from_str::<State>(&json).unwrap(), state);
        let empty = State {
            name: "E".into(),
            grants: Default::default(),
        };
        assert_eq!(
            serde_json::to_string(&empty).unwrap(),
            r#"{"name":"E","dashboards":{}}"#
        );
        let unknown = r#"{"name":"R","dashboards":{},"widgets":{"1":1}}"#;
        assert!(
            serde_json::from_str::<State>(unknown).is_err(),
            "an unknown kind is refused"
        );
    }

    #[test]
    fn checksum_keys_read_back_whatever_the_id() {
        for key in ["dashboard:topic:5", "role:r1", "user:u:1"] {
            let parsed: ChecksumKey = key.parse().unwrap();
            assert_eq!(parsed.to_string(), key);
        }
        for bad in ["topic:1", "dashboard:", "role", "Dashboard:1"] {
            assert!(bad.parse::<ChecksumKey>().is_err(), "{bad}");
        }
    }
}
