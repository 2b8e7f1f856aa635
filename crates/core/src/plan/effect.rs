//! What a plan does to people's access, as plans carry it (computed by
//! `access`, which knows how access is evaluated).

/// One user's action on one dashboard: what a plan gives (`gained`) or
/// takes away (`lost`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Access {
    /// The user's email.
    pub user: String,
    /// The dashboard's id.
    pub dashboard_id: String,
    /// The dashboard's name.
    pub dashboard: String,
    /// The action.
    pub action: String,
}

/// What a plan does to people: actions gained and lost on dashboards.
/// Admins are left out (the `admin-grant` risk shows those changes).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Effect {
    /// Actions users gain.
    pub gained: Vec<Access>,
    /// Actions users lose.
    pub lost: Vec<Access>,
}

impl Effect {
    /// Whether nobody gains or loses anything.
    pub fn is_empty(&self) -> bool {
        self.gained.is_empty() && self.lost.is_empty()
    }
}
