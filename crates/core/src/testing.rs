//! Live objects for the crate's unit tests, in one line each.

use std::collections::{BTreeMap, BTreeSet};

use crate::kinds::ObjectRef;
use crate::live::{LiveRole, LiveUser};

/// A set of strings.
pub(crate) fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// A live role: privileges on dashboards, grants on dashboards by id.
pub(crate) fn live_role(
    id: &str,
    name: &str,
    description: &str,
    privileges: &[&str],
    grants: &[(&str, &[&str])],
) -> LiveRole {
    LiveRole {
        id: id.into(),
        name: name.into(),
        description: description.into(),
        privileges: if privileges.is_empty() {
            BTreeMap::new()
        } else {
            BTreeMap::from([("Dashboard".to_string(), set(privileges))])
        },
        grants: grants
            .iter()
            .map(|(d, a)| (ObjectRef::dashboard(*d), set(a)))
            .collect(),
        kept: Default::default(),
    }
}

/// A live user with its role ids.
pub(crate) fn live_user(
    id: &str,
    email: &str,
    first: &str,
    last: &str,
    roles: &[&str],
) -> LiveUser {
    LiveUser {
        id: id.into(),
        email: email.into(),
        first_name: first.into(),
        last_name: last.into(),
        roles: set(roles),
    }
}
