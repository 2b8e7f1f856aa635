//! What a plan does to people's access, as plans carry it (computed by
//! `access`, which knows how access is evaluated).

/// One user's action on one dashboard: what a plan gives (`gained`) or
/// takes away (`lost`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Access {
    pub user: String,
    pub dashboard_id: String,
    pub dashboard: String,
    pub action: String,
}

/// What a plan does to people: actions gained and lost on dashboards.
/// Admins are left out (the `admin-grant` risk shows those changes).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Effect {
    pub gained: Vec<Access>,
    pub lost: Vec<Access>,
}

impl Effect {
    pub fn is_empty(&self) -> bool {
        self.gained.is_empty() && self.lost.is_empty()
    }
}
