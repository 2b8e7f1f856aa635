//! `review:` of the root file: how often access is reviewed, what counts as
//! dormant or expiring, who owns which role, which roles are privileged,
//! which users are service accounts, and where packs are kept.

use serde::Serialize;

use crate::config::globs::Globs;

/// The review settings; each has a default, so `review:` may be absent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Settings {
    /// Days between reviews (`every: 90d`).
    pub every: u32,
    /// Days without activity after which a user is dormant.
    pub dormant_after: u32,
    /// Days ahead within which a membership's `until` is reported.
    pub expiring_within: u32,
    /// The fewest Admin members the site should have.
    pub min_admins: usize,
    /// Role name globs, in the order written; the first that matches a role
    /// names its owners.
    pub owners: Owners,
    /// Roles whose members are reported as privileged (Admin always is).
    pub privileged: Globs,
    /// Users (email globs) that are service accounts: never dormant, never
    /// missing from the directory.
    pub service_accounts: Globs,
    /// The directory that holds packs, relative to the root file.
    pub packs: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            every: 90,
            dormant_after: 90,
            expiring_within: 30,
            min_admins: 2,
            owners: Owners::default(),
            privileged: Globs::default(),
            service_accounts: Globs::default(),
            packs: None,
        }
    }
}

/// `owners:`: role globs to the emails that review their members.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Owners {
    /// The globs, in the order written.
    pub globs: Globs,
    /// The owners of each glob, by the glob's index.
    pub emails: Vec<Vec<String>>,
}

/// Written in order: `[{"roles": "Finance *", "owners": [...]}, ...]`.
impl Serialize for Owners {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let patterns = serde_json::to_value(&self.globs).unwrap_or_default();
        let patterns = patterns.as_array().cloned().unwrap_or_default();
        let list: Vec<serde_json::Value> = patterns
            .into_iter()
            .zip(&self.emails)
            .map(|(roles, owners)| serde_json::json!({"roles": roles, "owners": owners}))
            .collect();
        list.serialize(s)
    }
}

impl Owners {
    /// The owners of a role: those of the first glob that matches its name.
    pub fn of(&self, role: &str) -> &[String] {
        self.globs
            .first_index(role)
            .and_then(|i| self.emails.get(i))
            .map_or(&[], Vec::as_slice)
    }
}

impl Settings {
    /// Whether the role is privileged: Admin, or a `privileged:` glob.
    pub fn is_privileged(&self, role: &str) -> bool {
        crate::config::vocab::key(role) == crate::config::vocab::key(crate::config::vocab::ADMIN)
            || self.privileged.is_match(role)
    }
}

/// `90d` or `12w`: a number of days.
pub fn parse_days(text: &str) -> Result<u32, String> {
    let t = text.trim();
    let (n, unit) = t.split_at(t.len().saturating_sub(1));
    let days = match (n.parse::<u32>(), unit) {
        (Ok(n), "d") => Some(n),
        (Ok(n), "w") => n.checked_mul(7),
        _ => None,
    };
    match days {
        Some(d) if d > 0 && d <= 3660 => Ok(d),
        Some(_) => Err(format!("`{t}` is out of range: write 1d to 3660d")),
        None => Err(format!(
            "`{t}` is not a number of days: write `90d` or `12w`"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_days_or_weeks() {
        assert_eq!(parse_days("90d"), Ok(90));
        assert_eq!(parse_days("2w"), Ok(14));
        for bad in ["90", "d", "3 months", "-1d", "0d", "99999d", ""] {
            assert!(parse_days(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_first_owner_glob_that_matches_wins() {
        let owners = Owners {
            globs: Globs::new(vec!["Finance *".into(), "*".into()]).unwrap(),
            emails: vec![vec!["cfo@acme.com".into()], vec!["it@acme.com".into()]],
        };
        assert_eq!(owners.of("finance ap"), ["cfo@acme.com".to_string()]);
        assert_eq!(owners.of("Sales"), ["it@acme.com".to_string()]);
        assert!(Owners::default().of("Sales").is_empty());
    }
}
