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

/// Keys of each mapping whose keys are fixed by the format. The JSON Schema
/// is generated from `crate::config::schema`; a test checks that both agree.
pub(crate) const TOP_KEYS: &[&str] = &[
    "site", "actor", "prune", "protect", "ignore", "limits", "files", "policy", "roles", "users",
];
pub(crate) const ROLE_KEYS: &[&str] = &["description", "privileges", "dashboards", "renamed_from"];
pub(crate) const USER_KEYS: &[&str] = &["first_name", "last_name", "roles"];
pub(crate) const MEMBERSHIP_KEYS: &[&str] = &["role", "until", "reason"];
pub(crate) const PRUNE_KEYS: &[&str] = &["users", "roles"];
pub(crate) const SELECTOR_KEYS: &[&str] = &["users", "roles"];
pub(crate) const LIMIT_KEYS: &[&str] = &[
    "max_deletes",
    "max_revokes",
    "max_users_losing_access",
    "wide_grant",
];
pub(crate) const POLICY_KEYS: &[&str] = &["email_domains", "everyone_never", "block_risks"];

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
    pub fn unreadable() -> Self {
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
    pub fn field(&'a self, name: &'a str) -> YPath<'a> {
        YPath::Field(self, name)
    }

    pub fn key(&'a self, key: &'a str) -> YPath<'a> {
        YPath::Key(self, key)
    }

    pub fn index(&'a self, i: usize) -> YPath<'a> {
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
    pub fn new(file: FileId, path: Arc<str>, diags: &'a mut Vec<Diagnostic>) -> Self {
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
    fn fields<'n>(
        &mut self,
        entries: &'n [(Node, Node)],
        allowed: &[&'static str],
        path: &YPath<'_>,
        hint_extra: impl Fn(&str) -> Option<String>,
    ) -> Vec<(&'static str, &'n Node, &'n Node)> {
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
            let Some(known) = allowed.iter().find(|a| **a == name) else {
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
            if let Some(first) = seen.get(known) {
                let first = *first;
                self.error(k, &child, format!("key `{name}` is given twice"))
                    .related
                    .push((first, "first given here".into()));
                continue;
            }
            seen.insert(known, k.pos);
            out.push((*known, k, v));
        }
        out
    }

    pub fn file(&mut self, root: &Node) -> Fragment {
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
        for (name, k, v) in self.fields(entries, TOP_KEYS, &ROOT, top_hint) {
            let pos = k.pos;
            match name {
                "site" => {
                    frag.site = self.site(v).map(|value| Setting { value, pos });
                }
                "actor" => {
                    frag.actor = self
                        .email(v, &ROOT.field("actor"))
                        .map(|value| Setting { value, pos });
                }
                "prune" => frag.prune = self.prune(v).map(|value| Setting { value, pos }),
                "protect" | "ignore" => {
                    let value = self.selectors(v, name);
                    let slot = if name == "protect" {
                        &mut frag.protect
                    } else {
                        &mut frag.ignore
                    };
                    *slot = value.map(|value| Setting { value, pos });
                }
                "limits" => frag.limits = self.limits(v).map(|value| Setting { value, pos }),
                "files" => frag.files = self.files(v).map(|value| Setting { value, pos }),
                "policy" => frag.policy = self.policy(v).map(|value| Setting { value, pos }),
                "roles" => self.roles(v, &mut frag),
                "users" => self.users(v, &mut frag),
                _ => unreachable!("fields() returns only allowed keys"),
            }
        }
        frag
    }

    fn site(&mut self, v: &Node) -> Option<String> {
        let path = ROOT.field("site");
        let site = self.string(v, &path, "the site name (a string)")?;
        if site.is_empty() || site.contains(['/', ':']) || site.chars().any(char::is_whitespace) {
            let hint = if site.contains('/') {
                "the site is the path segment after `/app/` in a dashboard URL, e.g. `acme` for https://app.periscopedata.com/app/acme/..."
            } else {
                "the site is the path segment after `/app/` in a dashboard URL: no spaces, `:` or `/`"
            };
            self.error(v, &path, format!("`{site}` is not a site name"))
                .hint = Some(hint.into());
            return None;
        }
        Some(site)
    }

    fn email(&mut self, v: &Node, path: &YPath<'_>) -> Option<String> {
        let email = self.string(v, path, "an email address")?;
        if !vocab::is_email(&email) {
            self.error(v, path, format!("`{email}` is not an email address"))
                .hint =
                Some("write the address of a user of the site, e.g. `admin@acme.com`".into());
            return None;
        }
        Some(email)
    }

    fn prune(&mut self, v: &Node) -> Option<Prune> {
        let ppath = ROOT.field("prune");
        let entries = self.map(v, &ppath, "a mapping with `users` and `roles`")?;
        let mut prune = Prune::default();
        let mut ok = true;
        for (name, _, v) in self.fields(entries, PRUNE_KEYS, &ppath, |_| None) {
            let path = ppath.field(name);
            let allowed: &[&str] = if name == "users" {
                &["false", "delete", "strip"]
            } else {
                &["false", "delete"]
            };
            let word = match &v.kind {
                NodeKind::Scalar(s) if s.ty() == ScalarType::Bool(false) => "false".to_string(),
                NodeKind::Scalar(s) if s.ty() == ScalarType::Str => s.text.clone(),
                NodeKind::Scalar(s) => s.text.clone(),
                _ => String::new(),
            };
            match (name, word.as_str()) {
                ("users", "false") => prune.users = PruneUsers::Keep,
                ("users", "delete") => prune.users = PruneUsers::Delete,
                ("users", "strip") => prune.users = PruneUsers::Strip,
                ("roles", "false") => prune.roles = PruneRoles::Keep,
                ("roles", "delete") => prune.roles = PruneRoles::Delete,
                _ => {
                    ok = false;
                    let hint = if word.eq_ignore_ascii_case("true") {
                        format!(
                            "say what to do with unlisted {name}: {}",
                            backticks(&allowed[1..])
                        )
                    } else if let Some(m) = did_you_mean(&word, allowed.iter().copied()) {
                        format!("did you mean `{m}`?")
                    } else {
                        format!("allowed: {}", backticks(allowed))
                    };
                    let shown = if word.is_empty() {
                        v.type_name().to_string()
                    } else {
                        format!("`{word}`")
                    };
                    self.error(v, &path, format!("{shown} is not a prune mode for {name}"))
                        .hint = Some(hint);
                }
            }
        }
        ok.then_some(prune)
    }

    fn selectors(&mut self, v: &Node, section: &str) -> Option<Selectors> {
        let spath = ROOT.field(section);
        let entries = self.map(v, &spath, "a mapping with `users` and `roles` glob lists")?;
        let mut out = Selectors::default();
        let mut ok = true;
        for (name, _, v) in self.fields(entries, SELECTOR_KEYS, &spath, |_| None) {
            let path = spath.field(name);
            let Some(items) = self.list(v, &path, "a list of glob patterns") else {
                ok = false;
                continue;
            };
            let mut patterns = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let ipath = path.index(i);
                let Some(p) = self.string(item, &ipath, "a glob pattern") else {
                    ok = false;
                    continue;
                };
                if let Err(e) = Globs::check(&p) {
                    ok = false;
                    let msg = e.kind().to_string();
                    self.error(item, &ipath, format!("`{p}` is not a valid glob: {msg}"))
                        .hint = Some("use `*` for any run of characters, `?` for one, `[abc]` for a set; quote patterns that start with `*`".into());
                    continue;
                }
                patterns.push(p);
            }
            match Globs::new(patterns) {
                Ok(globs) if name == "users" => out.users = globs,
                Ok(globs) => out.roles = globs,
                Err(_) => ok = false,
            }
        }
        ok.then_some(out)
    }

    /// `files:`: glob → what files it matches may hold.
    fn files(&mut self, v: &Node) -> Option<FileRules> {
        let fpath = ROOT.field("files");
        let entries = self.map(v, &fpath, "a mapping of path globs to lists like `[users]`")?;
        let words: Vec<&str> = May::ALL.iter().map(|m| m.as_str()).collect();
        let mut rules = Vec::new();
        let mut ok = true;
        for (k, v) in entries {
            let Some(glob) = self.key(k, &fpath, "a path glob") else {
                ok = false;
                continue;
            };
            let path = fpath.key(&glob);
            let Some(items) = self.list(v, &path, "a list of `roles`, `users`, `admin`") else {
                ok = false;
                continue;
            };
            let mut may = BTreeSet::new();
            for (i, item) in items.iter().enumerate() {
                let ipath = path.index(i);
                let word = self.string(item, &ipath, "`roles`, `users` or `admin`");
                match May::ALL
                    .iter()
                    .find(|m| Some(m.as_str()) == word.as_deref())
                {
                    Some(m) => {
                        may.insert(*m);
                    }
                    None => {
                        ok = false;
                        if let Some(word) = word {
                            let hint = did_you_mean(&word, words.iter().copied()).map_or_else(
                                || format!("allowed: {}", backticks(&words)),
                                |m| format!("did you mean `{m}`?"),
                            );
                            self.error(
                                item,
                                &ipath,
                                format!("`{word}` is not something a file may hold"),
                            )
                            .hint = Some(hint);
                        }
                    }
                }
            }
            if may.contains(&May::Admin) && !may.contains(&May::Users) {
                self.warning(v, &path, "`admin` without `users` allows nothing: `admin` lets the files that may hold users give the Admin role")
                    .hint = Some(format!("write `[users, admin]` for `{glob}`"));
            }
            match FileRule::new(&glob, may) {
                Ok(rule) => rules.push(rule),
                Err(e) => {
                    ok = false;
                    let msg = e.kind().to_string();
                    self.error(k, &path, format!("`{glob}` is not a valid glob: {msg}"))
                        .hint = Some("paths are relative to the config root, `/`-separated: `teams/*.yaml`, `roles/**/*.yaml`".into());
                }
            }
        }
        ok.then_some(FileRules(rules))
    }

    /// `policy:`: rules every plan keeps.
    fn policy(&mut self, v: &Node) -> Option<Policy> {
        let ppath = ROOT.field("policy");
        let entries = self.map(
            v,
            &ppath,
            "a mapping with `email_domains`, `everyone_never`, `block_risks`",
        )?;
        let mut out = Policy::default();
        let mut ok = true;
        for (name, _, v) in self.fields(entries, POLICY_KEYS, &ppath, |_| None) {
            let path = ppath.field(name);
            let Some(items) = self.list(v, &path, "a list") else {
                ok = false;
                continue;
            };
            for (i, item) in items.iter().enumerate() {
                let ipath = path.index(i);
                let Some(word) = self.string(item, &ipath, "a string") else {
                    ok = false;
                    continue;
                };
                let (valid, allowed): (bool, Vec<&str>) = match name {
                    "email_domains" => {
                        let domain = word.trim_start_matches('@').to_lowercase();
                        let valid = vocab::is_email(&format!("x@{domain}"));
                        if valid {
                            out.email_domains.push(domain);
                        }
                        (valid, Vec::new())
                    }
                    "everyone_never" => {
                        let valid = vocab::is_action(&word);
                        if valid {
                            out.everyone_never.insert(word.clone());
                        }
                        (valid, vocab::ACTIONS.to_vec())
                    }
                    _ => {
                        let risk = Risk::ALL.iter().find(|r| r.as_str() == word);
                        if let Some(r) = risk {
                            out.block_risks.insert(*r);
                        }
                        (
                            risk.is_some(),
                            Risk::ALL.iter().map(|r| r.as_str()).collect(),
                        )
                    }
                };
                if valid {
                    continue;
                }
                ok = false;
                let (what, hint) = if allowed.is_empty() {
                    (
                        "an email domain",
                        "write the part after `@`: `acme.com`".to_string(),
                    )
                } else {
                    let noun = if name == "everyone_never" {
                        "an action"
                    } else {
                        "a risk tag"
                    };
                    let hint = did_you_mean(&word, allowed.iter().copied()).map_or_else(
                        || format!("allowed: {}", backticks(&allowed)),
                        |m| format!("did you mean `{m}`?"),
                    );
                    (noun, hint)
                };
                self.error(item, &ipath, format!("`{word}` is not {what}"))
                    .hint = Some(hint);
            }
        }
        ok.then_some(out)
    }

    fn limits(&mut self, v: &Node) -> Option<Limits> {
        let lpath = ROOT.field("limits");
        let entries = self.map(
            v,
            &lpath,
            "a mapping with `max_deletes`, `max_revokes`, `max_users_losing_access`, `wide_grant`",
        )?;
        let mut out = Limits::default();
        let mut ok = true;
        for (name, _, v) in self.fields(entries, LIMIT_KEYS, &lpath, |_| None) {
            let path = lpath.field(name);
            match self.limit(v, &path) {
                Some(l) if name == "max_deletes" => out.max_deletes = Some(l),
                Some(l) if name == "wide_grant" => out.wide_grant = Some(l),
                Some(l) if name == "max_users_losing_access" => {
                    out.max_users_losing_access = Some(l);
                }
                Some(l) => out.max_revokes = Some(l),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    fn limit(&mut self, v: &Node, path: &YPath<'_>) -> Option<Limit> {
        let hint = "write a count like `10` or a percentage of the live objects like `\"5%\"`";
        let NodeKind::Scalar(s) = &v.kind else {
            self.wrong_type(v, path, "a count or a percentage", Some(hint.into()));
            return None;
        };
        let text = s.text.trim();
        let (parsed, problem) = if let Some(p) = text.strip_suffix('%') {
            match p.trim().parse::<f64>() {
                Ok(p) if p.is_finite() && (0.0..=100.0).contains(&p) => {
                    (Some(Limit::Percent(p)), "")
                }
                Ok(_) => (None, "a percentage is between `0%` and `100%`"),
                Err(_) => (None, hint),
            }
        } else if s.ty() == ScalarType::Int && text.starts_with('-') {
            (
                None,
                "a count cannot be negative; `0` allows no destructive change at all",
            )
        } else if s.ty() == ScalarType::Float {
            (
                None,
                "a count is a whole number; for a share of the live objects write a percentage like `\"2.5%\"`",
            )
        } else {
            let n = text
                .parse::<u64>()
                .ok()
                .filter(|_| matches!(s.ty(), ScalarType::Int | ScalarType::Str));
            (n.map(Limit::Count), hint)
        };
        if parsed.is_none() {
            let shown = if text.is_empty() {
                v.type_name().to_string()
            } else {
                format!("`{text}`")
            };
            self.error(v, path, format!("{shown} is not a count or a percentage"))
                .hint = Some(problem.into());
        }
        parsed
    }

    fn roles(&mut self, v: &Node, frag: &mut Fragment) {
        let rpath = ROOT.field("roles");
        let Some(entries) = self.map(v, &rpath, "a mapping of role names to roles") else {
            frag.roles_incomplete = true;
            return;
        };
        for (k, v) in entries {
            let Some(name) = self.key(k, &rpath, "a role name") else {
                frag.roles_incomplete = true;
                continue;
            };
            let path = rpath.key(&name);
            if name.trim().is_empty() || name.trim() != name {
                frag.roles_incomplete = true;
                self.error(
                    k,
                    &path,
                    "a role name cannot be empty or start or end with spaces",
                )
                .hint = Some("write the name as it should appear on the site".into());
                continue;
            }
            // Kept even when it has errors (the load fails anyway), so that
            // whole-config checks such as duplicates still see it.
            if let Some(mut role) = self.role(&name, k.pos, v, &path, frag) {
                role.shared = k.shared || v.shared;
                frag.roles.push((k.pos, role));
            }
        }
    }

    fn role(
        &mut self,
        name: &str,
        pos: Pos,
        v: &Node,
        path: &YPath<'_>,
        frag: &mut Fragment,
    ) -> Option<Role> {
        let entries = self.map(
            v,
            path,
            "a role: a mapping with `description`, `privileges`, `dashboards`",
        )?;
        let mut role = Role {
            name: name.to_string(),
            description: String::new(),
            privileges: BTreeMap::new(),
            grants: BTreeMap::new(),
            renamed_from: Vec::new(),
            origin: self.origin(pos),
            shared: false,
        };
        let hint = |key: &str| {
            vocab::ACTIONS
                .contains(&key)
                .then(|| format!("actions go under `privileges: {{Dashboard: [{key}]}}` or under a dashboard in `dashboards`"))
        };
        for (field, _, v) in self.fields(entries, ROLE_KEYS, path, hint) {
            let fpath = path.field(field);
            match field {
                "description" => {
                    if !v.is_null() {
                        role.description = self
                            .string(v, &fpath, "a description (a string)")
                            .unwrap_or_default();
                    }
                }
                "privileges" => role.privileges = self.privileges(v, &fpath),
                "dashboards" => role.grants.extend(
                    (self.dashboards(v, &fpath).into_iter())
                        .map(|(name, grant)| (ObjectName::dashboard(name), grant)),
                ),
                "renamed_from" => role.renamed_from = self.renamed_from(name, v, &fpath, frag),
                _ => unreachable!("fields() returns only allowed keys"),
            }
        }
        Some(role)
    }

    /// `privileges:`: actions per object type.
    fn privileges(&mut self, v: &Node, fpath: &YPath<'_>) -> BTreeMap<String, BTreeSet<String>> {
        let mut privileges = BTreeMap::new();
        let Some(types) = self.map(
            v,
            fpath,
            "a mapping of object types to lists of actions, e.g. `Dashboard: [read_dashboards]`",
        ) else {
            return privileges;
        };
        let mut seen: BTreeMap<String, Pos> = BTreeMap::new();
        for (tk, tv) in types {
            let Some(ty) = self.key(tk, fpath, "an object type") else {
                continue;
            };
            let tpath = fpath.key(&ty);
            if !vocab::OBJECT_TYPES.contains(&ty.as_str()) {
                self.error(tk, &tpath, format!("unknown object type `{ty}`"))
                    .hint = Some(object_type_hint(&ty));
                continue;
            }
            if let Some(first) = seen.insert(ty.clone(), tk.pos) {
                self.given_twice(tk, &tpath, first, format!("object type `{ty}`"));
                continue;
            }
            let actions = self.actions(tv, &tpath);
            privileges.insert(ty, actions);
        }
        privileges
    }

    /// `dashboards:`: actions per dashboard name or `#<id>`.
    fn dashboards(&mut self, v: &Node, fpath: &YPath<'_>) -> BTreeMap<NameOrId, ObjectGrant> {
        let mut dashboards = BTreeMap::new();
        let Some(dashes) = self.map(
            v,
            fpath,
            "a mapping of dashboards (names or `\"#<id>\"`) to lists of actions",
        ) else {
            return dashboards;
        };
        let mut seen: BTreeMap<NameOrId, Pos> = BTreeMap::new();
        for (dk, dv) in dashes {
            let Some(dref) = self.dashboard_ref(dk, fpath) else {
                continue;
            };
            let dname = dref.to_string();
            let dpath = fpath.key(&dname);
            if let Some(first) = seen.insert(dref.clone(), dk.pos) {
                self.given_twice(dk, &dpath, first, format!("dashboard `{dref}`"));
                continue;
            }
            let actions = self.actions(dv, &dpath);
            let origin = self.origin(dk.pos);
            dashboards.insert(dref, ObjectGrant { actions, origin });
        }
        dashboards
    }

    /// An entry given twice in one role: an error pointing at both.
    fn given_twice(&mut self, node: &Node, path: &YPath<'_>, first: Pos, what: String) {
        let d = self.error(node, path, format!("{what} is given twice in this role"));
        d.related.push((first, "first given here".into()));
        d.hint = Some("merge the two lists of actions into one".into());
    }

    /// `renamed_from:`: the old names of role `name`.
    fn renamed_from(
        &mut self,
        name: &str,
        v: &Node,
        fpath: &YPath<'_>,
        frag: &mut Fragment,
    ) -> Vec<String> {
        let mut renamed = Vec::new();
        let Some(items) = self.list(v, fpath, "a list of role names") else {
            return renamed;
        };
        for (i, item) in items.iter().enumerate() {
            let ipath = fpath.index(i);
            let Some(old) = self.string(item, &ipath, "a role name") else {
                continue;
            };
            if vocab::key(&old) == vocab::key(name) {
                self.error(
                    item,
                    &ipath,
                    format!("role `{name}` cannot be renamed from itself"),
                )
                .hint = Some("remove this entry".into());
            } else if vocab::is_builtin_role(&old) {
                self.error(item, &ipath, format!("the `{old}` role cannot be renamed"))
                    .hint = Some(format!(
                    "`{}` and `{}` always exist on a site; define a new role instead",
                    vocab::ADMIN,
                    vocab::EVERYONE
                ));
            } else if old.trim().is_empty() {
                self.error(item, &ipath, "a role name cannot be empty");
            } else {
                frag.refs.renames.push(RefSite {
                    owner: vocab::key(name),
                    name: old.clone(),
                    pos: item.pos,
                    path: ipath.to_string(),
                });
                renamed.push(old);
            }
        }
        renamed
    }

    fn dashboard_ref(&mut self, k: &Node, path: &YPath<'_>) -> Option<NameOrId> {
        let text = self.key(k, path, "a dashboard name or `\"#<id>\"`")?;
        let kpath = path.key(&text);
        if let NodeKind::Scalar(s) = &k.kind
            && s.ty() == ScalarType::Int
        {
            self.error(k, &kpath, format!("dashboard key `{text}` is a number"))
                .hint = Some(format!(
                "write `\"#{text}\"` for the dashboard with id {text}, or quote the name: `\"{text}\"`"
            ));
            return None;
        }
        if let Some(id) = text.strip_prefix('#') {
            // `"#4711"` is an id; `"#1 Priorities"` is a name that starts
            // with `#` (resolved by name when no dashboard has that id).
            if crate::config::lock::is_id(id) {
                return Some(NameOrId::Id(id.to_string()));
            }
            if id.trim().is_empty() {
                self.error(k, &kpath, format!("`{text}` is not a dashboard id"))
                    .hint = Some("a dashboard id is written `\"#4711\"`: `#` and the id, quoted (unquoted, `#` starts a comment)".into());
                return None;
            }
        }
        if text.trim().is_empty() {
            self.error(k, &kpath, "a dashboard name cannot be empty")
                .hint =
                Some("write the dashboard's name as the site shows it, or `\"#<id>\"`".into());
            return None;
        }
        Some(NameOrId::Name(text))
    }

    fn actions(&mut self, v: &Node, path: &YPath<'_>) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let Some(items) = self.list(v, path, "a list of actions") else {
            return out;
        };
        for (i, item) in items.iter().enumerate() {
            let ipath = path.index(i);
            let Some(action) = self.string(item, &ipath, "an action name") else {
                continue;
            };
            if !vocab::is_action(&action) {
                let hint = match did_you_mean(&action, vocab::ACTIONS.iter().copied()) {
                    Some(m) => format!("did you mean `{m}`?"),
                    None => format!("known actions: {}", backticks(vocab::ACTIONS)),
                };
                self.error(item, &ipath, format!("unknown action `{action}`"))
                    .hint = Some(hint);
                continue;
            }
            if !out.insert(action.clone()) {
                self.warning(item, &ipath, format!("action `{action}` is listed twice"))
                    .hint = Some("remove one of them".into());
            }
        }
        out
    }

    fn users(&mut self, v: &Node, frag: &mut Fragment) {
        let upath = ROOT.field("users");
        let Some(entries) = self.map(v, &upath, "a mapping of emails to users") else {
            return;
        };
        for (k, v) in entries {
            let Some(email) = self.key(k, &upath, "an email address") else {
                continue;
            };
            let path = upath.key(&email);
            if !vocab::is_email(&email) {
                let hint =
                    if ROLE_KEYS.contains(&email.as_str()) || USER_KEYS.contains(&email.as_str()) {
                        "this looks like a field: it belongs under a user, indented below its email"
                            .to_string()
                    } else {
                        "users are keyed by their email address, e.g. `jane@acme.com:`".to_string()
                    };
                self.error(k, &path, format!("`{email}` is not an email address"))
                    .hint = Some(hint);
                continue;
            }
            if let Some(mut user) = self.user(&email, k.pos, v, &path) {
                user.shared = k.shared || v.shared;
                frag.users.push((k.pos, user));
            }
        }
    }

    /// `first_name` / `last_name`: absent when null. The site refuses empty
    /// names; say so before anything is sent.
    fn name(&mut self, field: &str, v: &Node, fpath: &YPath<'_>) -> Option<String> {
        if v.is_null() {
            return None;
        }
        let name = self.string(v, fpath, "a name (a string)")?;
        if name.trim().is_empty() {
            self.error(v, fpath, format!("`{field}` cannot be empty"))
                .hint = Some(format!(
                "write the name, or leave `{field}` out to keep the name the site has"
            ));
            return None;
        }
        Some(name)
    }

    /// A user's `roles:`, keyed case-insensitively; Everyone left out.
    fn user_roles(&mut self, v: &Node, fpath: &YPath<'_>) -> BTreeMap<String, Membership> {
        let mut roles = BTreeMap::new();
        let Some(items) = self.list(v, fpath, "a list of role names") else {
            return roles;
        };
        for (i, item) in items.iter().enumerate() {
            let ipath = fpath.index(i);
            let Some((role, until, reason, at)) = self.membership(item, &ipath) else {
                continue;
            };
            let key = vocab::key(&role);
            if key == vocab::key(vocab::EVERYONE) {
                // Every user is in Everyone; listing it changes nothing.
                continue;
            }
            if roles.contains_key(&key) {
                self.warning(item, &ipath, format!("role `{role}` is listed twice"))
                    .hint = Some("role names are compared case-insensitively; remove one".into());
                continue;
            }
            let origin = self.origin(at);
            let rref = Membership {
                name: role,
                until,
                reason,
                index: i,
                origin,
            };
            roles.insert(key, rref);
        }
        roles
    }

    /// One item of a user's `roles:`: a role name, or a membership that
    /// ends, `{role: Auditor, until: 2027-01-31, reason: "SOX audit"}`.
    fn membership(
        &mut self,
        item: &Node,
        ipath: &YPath<'_>,
    ) -> Option<(String, Option<Date>, Option<String>, Pos)> {
        let NodeKind::Map(entries) = &item.kind else {
            let role = self.string(
                item,
                ipath,
                "a role name, or `{role: NAME, until: YYYY-MM-DD}`",
            )?;
            return Some((role, None, None, item.pos));
        };
        let (mut role, mut until, mut reason, mut at) = (None, None, None, item.pos);
        for (field, _, v) in self.fields(entries, MEMBERSHIP_KEYS, ipath, |_| None) {
            let fpath = ipath.field(field);
            match field {
                "role" => {
                    role = self.string(v, &fpath, "a role name");
                    at = v.pos;
                }
                "until" => {
                    let text = self.string(v, &fpath, "a date, `YYYY-MM-DD`")?;
                    match Date::parse(&text) {
                        Ok(date) => until = Some(date),
                        Err(why) => {
                            self.error(v, &fpath, why).hint = Some(
                                "the membership ends after this day (UTC): `until: 2027-01-31`"
                                    .into(),
                            );
                            return None;
                        }
                    }
                }
                "reason" => reason = self.string(v, &fpath, "a reason (text)"),
                _ => unreachable!("fields() returns only allowed keys"),
            }
        }
        let Some(role) = role else {
            self.error(item, ipath, "a membership needs its `role`")
                .hint = Some("write `{role: Auditor, until: 2027-01-31}`".into());
            return None;
        };
        Some((role, until, reason, at))
    }

    fn user(&mut self, email: &str, pos: Pos, v: &Node, path: &YPath<'_>) -> Option<User> {
        let expected = "a user: a mapping with `first_name`, `last_name`, `roles`";
        if let NodeKind::Seq(_) = &v.kind {
            let hint = "put the list under `roles:`, e.g. `jane@acme.com: {roles: [Data Analyst]}`";
            self.wrong_type(v, path, expected, Some(hint.into()));
            return None;
        }
        let entries = self.map(v, path, expected)?;
        let mut user = User {
            email: email.to_string(),
            first_name: None,
            last_name: None,
            roles: BTreeMap::new(),
            origin: self.origin(pos),
            admin_allowed: true,
            shared: false,
        };
        let hint = |key: &str| match key {
            "role" | "groups" | "teams" => Some("did you mean `roles`?".to_string()),
            "name" | "full_name" => Some("write `first_name` and `last_name`".to_string()),
            _ => None,
        };
        for (field, _, v) in self.fields(entries, USER_KEYS, path, hint) {
            let fpath = path.field(field);
            match field {
                "first_name" => user.first_name = self.name(field, v, &fpath),
                "last_name" => user.last_name = self.name(field, v, &fpath),
                "roles" => user.roles = self.user_roles(v, &fpath),
                _ => unreachable!("fields() returns only allowed keys"),
            }
        }
        Some(user)
    }
}

pub(crate) fn backticks(words: &[&str]) -> String {
    words
        .iter()
        .map(|w| format!("`{w}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What to write instead of an unknown object type.
fn object_type_hint(ty: &str) -> String {
    if vocab::ACTIONS.contains(&ty) {
        return format!("privileges are grouped by object type: `Dashboard: [{ty}]`");
    }
    did_you_mean(ty, vocab::OBJECT_TYPES.iter().copied())
        .map(|m| format!("did you mean `{m}`?"))
        .unwrap_or_else(|| format!("known object types: {}", backticks(vocab::OBJECT_TYPES)))
}
