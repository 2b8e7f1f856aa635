//! The fixed words of the Periscope RBAC API: object types, action names and
//! the roles every site starts with (`docs/periscope-api.md`).

/// Action names the API is known to accept. The vendor's list may be
/// incomplete; a name missing here is rejected by validation until it is added.
pub const ACTIONS: &[&str] = &[
    "read_dashboards",
    "create_dashboards",
    "create_discovery_charts",
    "create_sql_charts",
    "edit_chart_as_copy",
    "edit_dashboard_settings",
    "clone_dashboards",
    "archive_dashboards",
    "download_pdf",
    "shared_dashboards",
    "email_reports",
];

/// Object types privileges and permissions can be given on.
pub const OBJECT_TYPES: &[&str] = &["Dashboard"];

/// The role every site has that grants everything; never deleted or renamed.
pub const ADMIN: &str = "Admin";
/// The role every user is in; never deleted or renamed.
pub const EVERYONE: &str = "Everyone";

/// The roles a new site starts with.
pub const DEFAULT_ROLES: &[&str] = &[ADMIN, EVERYONE, "Analyst", "Business User", "Read"];

/// Whether `name` is an action rolecall knows.
pub fn is_action(name: &str) -> bool {
    ACTIONS.contains(&name)
}

/// The case-insensitive identity of a role name or an email.
pub fn key(name: &str) -> String {
    name.to_lowercase()
}

/// Whether `name` is a role that can never be deleted or renamed.
pub fn is_builtin_role(name: &str) -> bool {
    let k = key(name);
    k == key(ADMIN) || k == key(EVERYONE)
}

/// A plausible email address: one `@`, something before it, a dotted domain
/// after it, no spaces. (Deliverability is the site's business.)
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && !s.chars().any(|c| {
            c.is_whitespace() || c.is_control() || c == ',' || c == ';' || c == '<' || c == '>'
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        for ok in ["jane@acme.com", "J.Doe+x@sub.acme.co.uk"] {
            assert!(is_email(ok), "{ok}");
        }
        for bad in [
            "jane",
            "jane@",
            "@acme.com",
            "jane@acme",
            "jane@@acme.com",
            "jane doe@acme.com",
            "jane@acme..com",
            "jane@acme.com.",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
    }
}
