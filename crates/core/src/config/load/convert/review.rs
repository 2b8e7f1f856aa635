//! `review:` of the root file: the access review's periods, owners,
//! privileged roles, service accounts and packs directory.

use super::*;
use crate::review::settings::{Owners, Settings, parse_days};

impl Converter<'_> {
    pub(super) fn review(&mut self, v: &Node) -> Option<Settings> {
        let rpath = ROOT.field("review");
        let entries = self.map(
            v,
            &rpath,
            "a mapping with `every`, `dormant_after`, `expiring_within`, `min_admins`, `owners`, `privileged`, `service_accounts`, `packs`",
        )?;
        let mut out = Settings::default();
        let mut ok = true;
        for (field, _, v) in self.fields::<ReviewField>(entries, &rpath, |_| None) {
            let path = rpath.field(field.name());
            let done = match field {
                ReviewField::Every | ReviewField::DormantAfter | ReviewField::ExpiringWithin => {
                    let days = self.days(v, &path);
                    if let Some(d) = days {
                        *match field {
                            ReviewField::Every => &mut out.every,
                            ReviewField::DormantAfter => &mut out.dormant_after,
                            _ => &mut out.expiring_within,
                        } = d;
                    }
                    days.is_some()
                }
                ReviewField::MinAdmins => {
                    let n = self
                        .string(v, &path, "a count")
                        .and_then(|t| t.parse::<usize>().ok().filter(|n| *n <= 1000));
                    if n.is_none() {
                        self.error(v, &path, "`min_admins` is not a count").hint =
                            Some("write a whole number like `2`".into());
                    }
                    out.min_admins = n.unwrap_or(out.min_admins);
                    n.is_some()
                }
                ReviewField::Owners => {
                    let owners = self.owners(v, &path);
                    let read = owners.is_some();
                    out.owners = owners.unwrap_or_default();
                    read
                }
                ReviewField::Privileged | ReviewField::ServiceAccounts => {
                    let globs = self
                        .list(v, &path, "a list of glob patterns")
                        .and_then(|items| self.globs(items, &path));
                    let read = globs.is_some();
                    if let Some(g) = globs {
                        if field == ReviewField::Privileged {
                            out.privileged = g;
                        } else {
                            out.service_accounts = g;
                        }
                    }
                    read
                }
                ReviewField::Packs => {
                    let dir = self.string(v, &path, "a directory, relative to the root file");
                    let safe = dir.as_deref().is_some_and(|d| {
                        !d.is_empty()
                            && !d.starts_with('/')
                            && !d.split(['/', '\\']).any(|part| part == "..")
                    });
                    if dir.is_some() && !safe {
                        self.error(v, &path, "`packs` must be a directory inside the config's")
                            .hint = Some("write a relative path such as `reviews/`".into());
                    }
                    if safe {
                        out.packs = dir;
                    }
                    safe
                }
            };
            ok &= done;
        }
        ok.then_some(out)
    }

    fn days(&mut self, v: &Node, path: &YPath<'_>) -> Option<u32> {
        let text = self.string(v, path, "a number of days like `90d`")?;
        match parse_days(&text) {
            Ok(d) => Some(d),
            Err(why) => {
                self.error(v, path, why).hint = Some("days (`90d`) or weeks (`12w`)".into());
                None
            }
        }
    }

    /// `owners:`: role globs, in order, to lists of emails.
    fn owners(&mut self, v: &Node, opath: &YPath<'_>) -> Option<Owners> {
        let entries = self.map(v, opath, "a mapping of role globs to lists of emails")?;
        let mut patterns = Vec::new();
        let mut emails = Vec::new();
        let mut ok = true;
        for (k, v) in entries {
            let Some(glob) = self.key(k, opath, "a role glob") else {
                ok = false;
                continue;
            };
            let path = opath.key(&glob);
            if let Err(e) = Globs::check(&glob) {
                let msg = e.kind().to_string();
                self.error(k, &path, format!("`{glob}` is not a valid glob: {msg}"))
                    .hint =
                    Some("quote a glob that starts with `*`: `\"*\": [it@acme.com]`".into());
                ok = false;
                continue;
            }
            let Some(items) = self.list(v, &path, "a list of emails") else {
                ok = false;
                continue;
            };
            let mut list = Vec::new();
            for (i, item) in items.iter().enumerate() {
                match self.email(item, &path.index(i)) {
                    Some(e) => list.push(e),
                    None => ok = false,
                }
            }
            patterns.push(glob);
            emails.push(list);
        }
        let globs = Globs::new(patterns).ok()?;
        ok.then_some(Owners { globs, emails })
    }
}
