//! Turns the node tree of one file into a [`Fragment`] of the config,
//! reporting every problem it meets instead of stopping at the first.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::yaml::{Node, NodeKind, ScalarType};
use crate::config::date::Date;
use crate::config::model::{
    FileRule, FileRules, Globs, Limit, Limits, May, Membership, NameOrId, ObjectGrant, ObjectName,
    Origin, Policy, Prune, PruneRoles, PruneUsers, Role, Selectors, User,
};
use crate::config::vocab;
use crate::diagnostic::{Diagnostic, FileId, Pos, did_you_mean};
use crate::kinds::Risk;

/// The keys of a mapping whose keys are fixed by the format: a
/// [`Converter::fields`] answers them typed, so that every `match` over
/// them is total. The JSON Schema is generated from
/// `crate::config::schema`; a test checks that both agree.
pub(crate) trait Field: Copy + 'static {
    /// Every key, in the order the format lists them.
    const ALL: &'static [Self];
    /// As written.
    fn name(self) -> &'static str;
}

/// A [`Field`] enum and the list of its keys as written.
macro_rules! fields {
    ($(#[$doc:meta])* $name:ident, $keys:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum $name { $($variant),+ }

        impl Field for $name {
            const ALL: &'static [Self] = &[$($name::$variant),+];
            fn name(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        /// The keys of [`
        #[doc = stringify!($name)]
        /// `] as written (the schema's test reads them).
        #[allow(dead_code)]
        pub(crate) const $keys: &[&str] = &[$($text),+];
    };
}

fields!(
    /// The root file's keys.
    Top, TOP_KEYS {
        Site = "site", Actor = "actor", Prune = "prune", Protect = "protect",
        Ignore = "ignore", Limits = "limits", Files = "files", Policy = "policy",
        Review = "review", Roles = "roles", Users = "users",
    }
);
fields!(
    /// A role's keys.
    RoleField, ROLE_KEYS {
        Description = "description", Privileges = "privileges",
        Dashboards = "dashboards", RenamedFrom = "renamed_from",
    }
);
fields!(
    /// A user's keys.
    UserField, USER_KEYS { FirstName = "first_name", LastName = "last_name", Roles = "roles" }
);
fields!(
    /// A membership's keys (`{role, until, reason}`).
    MembershipField, MEMBERSHIP_KEYS { Role = "role", Until = "until", Reason = "reason" }
);
fields!(
    /// `prune:`'s keys.
    PruneField, PRUNE_KEYS { Users = "users", Roles = "roles" }
);
fields!(
    /// `protect:`'s and `ignore:`'s keys.
    SelectorField, SELECTOR_KEYS { Users = "users", Roles = "roles" }
);
fields!(
    /// `limits:`'s keys.
    LimitField, LIMIT_KEYS {
        MaxDeletes = "max_deletes", MaxRevokes = "max_revokes",
        MaxUsersLosingAccess = "max_users_losing_access", WideGrant = "wide_grant",
    }
);
fields!(
    /// `review:`'s keys.
    ReviewField, REVIEW_KEYS {
        Every = "every", DormantAfter = "dormant_after", ExpiringWithin = "expiring_within",
        MinAdmins = "min_admins", Owners = "owners", Privileged = "privileged",
        ServiceAccounts = "service_accounts", Packs = "packs",
    }
);
fields!(
    /// `policy:`'s keys.
    PolicyField, POLICY_KEYS {
        EmailDomains = "email_domains", EveryoneNever = "everyone_never",
        BlockRisks = "block_risks",
    }
);

/// A setting with the position of its key, so that a second file setting it
/// too can be pointed at.
#[derive(Debug)]
pub(crate) struct Setting<T> {
    pub value: T,
    pub pos: Pos,
}

/// What one file contributes to the config.
#[derive(Debug, Default)]
pub(crate) struct Fragment {
    pub site: Option<Setting<String>>,
    pub actor: Option<Setting<String>>,
    pub prune: Option<Setting<Prune>>,
    pub protect: Option<Setting<Selectors>>,
    pub ignore: Option<Setting<Selectors>>,
    pub limits: Option<Setting<Limits>>,
    pub files: Option<Setting<FileRules>>,
    pub policy: Option<Setting<Policy>>,
    pub review: Option<Setting<crate::review::settings::Settings>>,
    /// With the position of each role's key.
    pub roles: Vec<(Pos, Role)>,
    pub users: Vec<(Pos, User)>,
    /// Where names refer to roles, for the whole-config checks.
    pub refs: Refs,
    /// Some role could not be read at all (its name, or the whole `roles`),
    /// so a reference to a role that seems undefined may just be to it.
    pub roles_incomplete: bool,
    /// The file could not be read as a mapping (or not parsed at all): any
    /// setting may be in it, so none is reported missing.
    pub unreadable: bool,
}

impl Fragment {
    /// What a file contributes when it cannot be read.
    pub(crate) fn unreadable() -> Self {
        Self {
            roles_incomplete: true,
            unreadable: true,
            ..Self::default()
        }
    }
}

/// A place where a config entry names a role.
#[derive(Debug, Clone)]
pub(crate) struct RefSite {
    /// Key of the user or role the reference is in.
    pub owner: String,
    /// The role name as written.
    pub name: String,
    pub pos: Pos,
    pub path: String,
}

/// Role references of a config, in file order.
#[derive(Debug, Default)]
pub(crate) struct Refs {
    /// Entries of roles' `renamed_from`.
    pub renames: Vec<RefSite>,
}

pub(crate) struct Converter<'a> {
    file: FileId,
    path: Arc<str>,
    pub diags: &'a mut Vec<Diagnostic>,
}

/// Where a node is in the document: `users["jane@acme.com"].roles[1]`. Built
/// on the stack as the walk goes down, and formatted only for a diagnostic.
#[derive(Debug, Clone, Copy)]
pub(crate) enum YPath<'a> {
    Root,
    /// A key fixed by the format: `.description`.
    Field(&'a YPath<'a>, &'a str),
    /// A key that is data (a role name, an email): `["Data Analyst"]`.
    Key(&'a YPath<'a>, &'a str),
    Index(&'a YPath<'a>, usize),
}

pub(crate) static ROOT: YPath<'static> = YPath::Root;

impl<'a> YPath<'a> {
    pub(crate) fn field(&'a self, name: &'a str) -> YPath<'a> {
        YPath::Field(self, name)
    }

    pub(crate) fn key(&'a self, key: &'a str) -> YPath<'a> {
        YPath::Key(self, key)
    }

    pub(crate) fn index(&'a self, i: usize) -> YPath<'a> {
        YPath::Index(self, i)
    }

    fn is_root(&self) -> bool {
        matches!(self, YPath::Root)
    }
}

impl std::fmt::Display for YPath<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            YPath::Root => Ok(()),
            YPath::Field(parent, name) if parent.is_root() => f.write_str(name),
            YPath::Field(parent, name) => write!(f, "{parent}.{name}"),
            YPath::Key(parent, key) => write!(f, "{parent}[{key:?}]"),
            YPath::Index(parent, i) => write!(f, "{parent}[{i}]"),
        }
    }
}

impl<'a> Converter<'a> {
    pub(crate) fn new(file: FileId, path: Arc<str>, diags: &'a mut Vec<Diagnostic>) -> Self {
        Self { file, path, diags }
    }

    fn origin(&self, pos: Pos) -> Origin {
        debug_assert_eq!(pos.file, self.file);
        Origin {
            file: self.path.clone(),
            line: pos.line,
            col: pos.col,
        }
    }

    fn error(
        &mut self,
        node: &Node,
        path: &YPath<'_>,
        message: impl Into<String>,
    ) -> &mut Diagnostic {
        self.diags
            .push(Diagnostic::error(message).at(node.pos, path.to_string()));
        self.diags.last_mut().expect("just pushed")
    }

    fn warning(
        &mut self,
        node: &Node,
        path: &YPath<'_>,
        message: impl Into<String>,
    ) -> &mut Diagnostic {
        self.diags
            .push(Diagnostic::warning(message).at(node.pos, path.to_string()));
        self.diags.last_mut().expect("just pushed")
    }

    fn wrong_type(&mut self, node: &Node, path: &YPath<'_>, expected: &str, hint: Option<String>) {
        let found = node.type_name();
        let d = self.error(node, path, format!("expected {expected}, found {found}"));
        d.hint = hint;
    }

    /// A mapping's entries; `null` (written as nothing) is an empty mapping.
    fn map<'n>(
        &mut self,
        node: &'n Node,
        path: &YPath<'_>,
        expected: &str,
    ) -> Option<&'n [(Node, Node)]> {
        match &node.kind {
            NodeKind::Map(entries) => Some(entries),
            _ if node.is_null() => Some(&[]),
            _ => {
                self.wrong_type(node, path, expected, None);
                None
            }
        }
    }

    /// A list's items; `null` is an empty list.
    fn list<'n>(&mut self, node: &'n Node, path: &YPath<'_>, expected: &str) -> Option<&'n [Node]> {
        match &node.kind {
            NodeKind::Seq(items) => Some(items),
            _ if node.is_null() => Some(&[]),
            NodeKind::Scalar(s) => {
                let hint = format!("write a list, even of one item: `[{}]`", s.text);
                self.wrong_type(node, path, expected, Some(hint));
                None
            }
            NodeKind::Map(_) => {
                self.wrong_type(
                    node,
                    path,
                    expected,
                    Some("write a list: `[a, b]` or one `- item` per line".into()),
                );
                None
            }
        }
    }

    /// A string; numbers are taken as their text (a name may be `2024`).
    fn string(&mut self, node: &Node, path: &YPath<'_>, expected: &str) -> Option<String> {
        match &node.kind {
            NodeKind::Scalar(s) => match s.ty() {
                ScalarType::Str | ScalarType::Int | ScalarType::Float => Some(s.text.clone()),
                ScalarType::Null | ScalarType::Bool(_) => {
                    let hint = (!s.text.is_empty())
                        .then(|| format!("if you mean the text, quote it: `\"{}\"`", s.text));
                    self.wrong_type(node, path, expected, hint);
                    None
                }
            },
            _ => {
                self.wrong_type(node, path, expected, None);
                None
            }
        }
    }

    /// A mapping key of a data map (a role name, an email, a dashboard).
    fn key(&mut self, node: &Node, path: &YPath<'_>, expected: &str) -> Option<String> {
        match &node.kind {
            NodeKind::Scalar(_) => self.string(node, path, expected),
            _ => {
                self.wrong_type(
                    node,
                    path,
                    expected,
                    Some("a key must be a plain string".into()),
                );
                None
            }
        }
    }

    /// Checks the keys of a mapping whose keys are fixed by the format:
    /// unknown keys (with "did you mean") and keys given twice. Returns the
    /// known entries, each once.
    fn fields<'n, F: Field>(
        &mut self,
        entries: &'n [(Node, Node)],
        path: &YPath<'_>,
        hint_extra: impl Fn(&str) -> Option<String>,
    ) -> Vec<(F, &'n Node, &'n Node)> {
        let allowed: Vec<&'static str> = F::ALL.iter().map(|f| f.name()).collect();
        let allowed = allowed.as_slice();
        let mut seen: BTreeMap<&'static str, Pos> = BTreeMap::new();
        let mut out = Vec::new();
        for (k, v) in entries {
            let name = match &k.kind {
                NodeKind::Scalar(s) => s.text.as_str(),
                _ => {
                    self.wrong_type(k, path, "a key", None);
                    continue;
                }
            };
            let child = path.field(name);
            let Some(known) = F::ALL.iter().copied().find(|f| f.name() == name) else {
                let merge = (name == "<<").then(|| {
                    "YAML merge keys (`<<`) are not supported: write the fields out, or use an alias for a whole value (`roles: *analyst_roles`)".to_string()
                });
                let hint = merge
                    .or_else(|| {
                        did_you_mean(name, allowed.iter().copied())
                            .map(|m| format!("did you mean `{m}`?"))
                    })
                    .or_else(|| hint_extra(name))
                    .unwrap_or_else(|| format!("allowed here: {}", backticks(allowed)));
                let where_ = if path.is_root() {
                    "at the top level".to_string()
                } else {
                    format!("in `{path}`")
                };
                self.error(k, &child, format!("unknown key `{name}` {where_}"))
                    .hint = Some(hint);
                continue;
            };
            if let Some(first) = seen.get(known.name()) {
                let first = *first;
                self.error(k, &child, format!("key `{name}` is given twice"))
                    .related
                    .push((first, "first given here".into()));
                continue;
            }
            seen.insert(known.name(), k.pos);
            out.push((known, k, v));
        }
        out
    }

    pub(crate) fn file(&mut self, root: &Node) -> Fragment {
        let mut frag = Fragment::default();
        let Some(entries) = self.map(root, &ROOT, "a mapping of settings, `roles` and `users`")
        else {
            return Fragment::unreadable();
        };
        let top_hint = |name: &str| {
            if vocab::is_email(name) {
                Some("users go under `users:`, indented".to_string())
            } else {
                None
            }
        };
        for (field, k, v) in self.fields::<Top>(entries, &ROOT, top_hint) {
            let pos = k.pos;
            match field {
                Top::Site => {
                    frag.site = self.site(v).map(|value| Setting { value, pos });
                }
                Top::Actor => {
                    frag.actor = self
                        .email(v, &ROOT.field("actor"))
                        .map(|value| Setting { value, pos });
                }
                Top::Prune => frag.prune = self.prune(v).map(|value| Setting { value, pos }),
                Top::Protect | Top::Ignore => {
                    let value = self.selectors(v, field.name());
                    let slot = if field == Top::Protect {
                        &mut frag.protect
                    } else {
                        &mut frag.ignore
                    };
                    *slot = value.map(|value| Setting { value, pos });
                }
                Top::Limits => frag.limits = self.limits(v).map(|value| Setting { value, pos }),
                Top::Files => frag.files = self.files(v).map(|value| Setting { value, pos }),
                Top::Policy => frag.policy = self.policy(v).map(|value| Setting { value, pos }),
                Top::Review => frag.review = self.review(v).map(|value| Setting { value, pos }),
                Top::Roles => self.roles(v, &mut frag),
                Top::Users => self.users(v, &mut frag),
            }
        }
        frag
    }
}

pub(crate) fn backticks(words: &[&str]) -> String {
    words
        .iter()
        .map(|w| format!("`{w}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

mod review;
mod roles;
mod settings;
mod users;
