//! The words shared by the config, the live site and plans: which kind of
//! object a change is on, the risks a change may carry, and the digests
//! that tell whether an object changed. A leaf module:
//! it depends on nothing of the crate, so that the model and the live site
//! can name them without depending on plans.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Role,
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

/// The key of a live object's digest in a plan's `digests` and
/// `made_from.objects`: written `role:<id>`, `user:<id>` or
/// `dashboard:<id>`. Ordered as written.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DigestKey {
    Dashboard(String),
    Role(String),
    User(String),
}

impl DigestKey {
    /// The key of the user or role a change is on.
    pub fn of(kind: Kind, id: impl Into<String>) -> Self {
        match kind {
            Kind::Role => DigestKey::Role(id.into()),
            Kind::User => DigestKey::User(id.into()),
        }
    }

    /// The kind of a user's or a role's key.
    pub fn kind(&self) -> Option<Kind> {
        match self {
            DigestKey::Role(_) => Some(Kind::Role),
            DigestKey::User(_) => Some(Kind::User),
            DigestKey::Dashboard(_) => None,
        }
    }
}

impl std::fmt::Display for DigestKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (kind, id) = match self {
            DigestKey::Dashboard(id) => ("dashboard", id),
            DigestKey::Role(id) => ("role", id),
            DigestKey::User(id) => ("user", id),
        };
        write!(f, "{kind}:{id}")
    }
}

impl std::str::FromStr for DigestKey {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.split_once(':').filter(|(_, id)| !id.is_empty()) {
            Some(("dashboard", id)) => Ok(DigestKey::Dashboard(id.into())),
            Some(("role", id)) => Ok(DigestKey::Role(id.into())),
            Some(("user", id)) => Ok(DigestKey::User(id.into())),
            _ => Err(format!(
                "`{s}` is not a digest key (`role:ID`, `user:ID` or `dashboard:ID`)"
            )),
        }
    }
}

impl Serialize for DigestKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DigestKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// A stable digest of a live object (FNV-1a over its canonical JSON), so a
/// saved plan can tell whether the object changed since.
pub fn digest<T: Serialize>(object: &T) -> String {
    let json = serde_json::to_vec(object).expect("live objects serialize");
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in json {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}
