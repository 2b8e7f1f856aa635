//! The root file's settings: `site`, `actor`, `prune`, `protect`,
//! `ignore`, `files`, `policy`, `limits`.

use super::*;

impl Converter<'_> {
    pub(super) fn site(&mut self, v: &Node) -> Option<String> {
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

    pub(super) fn email(&mut self, v: &Node, path: &YPath<'_>) -> Option<String> {
        let email = self.string(v, path, "an email address")?;
        if !vocab::is_email(&email) {
            self.error(v, path, format!("`{email}` is not an email address"))
                .hint =
                Some("write the address of a user of the site, e.g. `admin@acme.com`".into());
            return None;
        }
        Some(email)
    }

    pub(super) fn prune(&mut self, v: &Node) -> Option<Prune> {
        let ppath = ROOT.field("prune");
        let entries = self.map(v, &ppath, "a mapping with `users` and `roles`")?;
        let mut prune = Prune::default();
        let mut ok = true;
        for (field, _, v) in self.fields::<PruneField>(entries, &ppath, |_| None) {
            let name = field.name();
            let path = ppath.field(name);
            let allowed: &[&str] = if field == PruneField::Users {
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
            match (field, word.as_str()) {
                (PruneField::Users, "false") => prune.users = PruneUsers::Keep,
                (PruneField::Users, "delete") => prune.users = PruneUsers::Delete,
                (PruneField::Users, "strip") => prune.users = PruneUsers::Strip,
                (PruneField::Roles, "false") => prune.roles = PruneRoles::Keep,
                (PruneField::Roles, "delete") => prune.roles = PruneRoles::Delete,
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

    pub(super) fn selectors(&mut self, v: &Node, section: &str) -> Option<Selectors> {
        let spath = ROOT.field(section);
        let entries = self.map(v, &spath, "a mapping with `users` and `roles` glob lists")?;
        let mut out = Selectors::default();
        let mut ok = true;
        for (field, _, v) in self.fields::<SelectorField>(entries, &spath, |_| None) {
            let path = spath.field(field.name());
            let Some(items) = self.list(v, &path, "a list of glob patterns") else {
                ok = false;
                continue;
            };
            let globs = self.globs(items, &path);
            match (globs, field) {
                (Some(globs), SelectorField::Users) => out.users = globs,
                (Some(globs), SelectorField::Roles) => out.roles = globs,
                (None, _) => ok = false,
            }
        }
        ok.then_some(out)
    }

    /// A list of glob patterns, each checked at its item.
    pub(super) fn globs(&mut self, items: &[Node], path: &YPath<'_>) -> Option<Globs> {
        let mut ok = true;
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
        if !ok {
            return None;
        }
        Globs::new(patterns).ok()
    }

    /// `files:`: glob → what files it matches may hold.
    pub(super) fn files(&mut self, v: &Node) -> Option<FileRules> {
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
    pub(super) fn policy(&mut self, v: &Node) -> Option<Policy> {
        let ppath = ROOT.field("policy");
        let entries = self.map(
            v,
            &ppath,
            "a mapping with `email_domains`, `everyone_never`, `block_risks`",
        )?;
        let mut out = Policy::default();
        let mut ok = true;
        for (field, _, v) in self.fields::<PolicyField>(entries, &ppath, |_| None) {
            let path = ppath.field(field.name());
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
                let (valid, allowed): (bool, Vec<&str>) = match field {
                    PolicyField::EmailDomains => {
                        let domain = word.trim_start_matches('@').to_lowercase();
                        let valid = vocab::is_email(&format!("x@{domain}"));
                        if valid {
                            out.email_domains.push(domain);
                        }
                        (valid, Vec::new())
                    }
                    PolicyField::EveryoneNever => {
                        let valid = vocab::is_action(&word);
                        if valid {
                            out.everyone_never.insert(word.clone());
                        }
                        (valid, vocab::ACTIONS.to_vec())
                    }
                    PolicyField::BlockRisks => {
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
                    let noun = if field == PolicyField::EveryoneNever {
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

    pub(super) fn limits(&mut self, v: &Node) -> Option<Limits> {
        let lpath = ROOT.field("limits");
        let entries = self.map(
            v,
            &lpath,
            "a mapping with `max_deletes`, `max_revokes`, `max_users_losing_access`, `wide_grant`",
        )?;
        let mut out = Limits::default();
        let mut ok = true;
        for (field, _, v) in self.fields::<LimitField>(entries, &lpath, |_| None) {
            let path = lpath.field(field.name());
            let Some(l) = self.limit(v, &path) else {
                ok = false;
                continue;
            };
            let slot = match field {
                LimitField::MaxDeletes => &mut out.max_deletes,
                LimitField::MaxRevokes => &mut out.max_revokes,
                LimitField::MaxUsersLosingAccess => &mut out.max_users_losing_access,
                LimitField::WideGrant => &mut out.wide_grant,
            };
            *slot = Some(l);
        }
        ok.then_some(out)
    }

    pub(super) fn limit(&mut self, v: &Node, path: &YPath<'_>) -> Option<Limit> {
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
}
