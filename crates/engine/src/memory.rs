//! A site in memory behind [`SiteRead`] and [`SiteWrite`]: what the
//! engine's tests run against (as rust-lang/team tests its diffs against a
//! mocked read side), faster than HTTP. It keeps the API's rules that the
//! engine relies on: a create of a name or email that exists answers `409`,
//! a write to an id that does not answers `404`, an action the site does not
//! know `400`, Admin and Everyone are never deleted (`403`). The integration
//! tests run the real client against the emulator over HTTP.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use rolecall_core::config::vocab::{ADMIN, EVERYONE, is_action, key};
use rolecall_core::live::{Live, LiveRole, LiveUser};
use rolecall_core::plan::{RoleState, UserState};

use crate::site::{CallError, RoleWrite, SiteRead, SiteWrite, UserWrite};

/// Why a call on a [`MemorySite`] failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} ({status}) at {url}")]
pub struct MemoryError {
    /// The status the API would answer.
    pub status: u16,
    /// The call, as `memory:/roles/ID`.
    pub url: String,
    /// What went wrong.
    pub message: String,
}

impl CallError for MemoryError {
    fn status(&self) -> Option<u16> {
        Some(self.status)
    }

    fn url(&self) -> Option<&str> {
        Some(&self.url)
    }
}

/// A site in memory.
#[derive(Debug, Default)]
pub struct MemorySite {
    live: Mutex<Live>,
    next_id: AtomicUsize,
    writes: AtomicUsize,
    /// Lower-cased name or email -> the status every write of it answers.
    failing: Mutex<BTreeMap<String, u16>>,
}

fn error(status: u16, url: String, message: impl Into<String>) -> MemoryError {
    MemoryError {
        status,
        url,
        message: message.into(),
    }
}

impl MemorySite {
    /// A site that holds `live`.
    pub fn new(live: Live) -> Self {
        Self {
            live: Mutex::new(live),
            ..Self::default()
        }
    }

    /// The site as it is now.
    pub fn live(&self) -> Live {
        self.state().clone()
    }

    /// The writes made so far, failed ones included.
    pub fn writes(&self) -> usize {
        self.writes.load(Ordering::SeqCst)
    }

    /// Every write of the user or role `name` (an email or a role name,
    /// any case) answers `status` from now on.
    pub fn fail_on(&self, name: &str, status: u16) {
        (self.failing.lock().expect("not poisoned")).insert(key(name), status);
    }

    fn state(&self) -> std::sync::MutexGuard<'_, Live> {
        self.live.lock().expect("not poisoned")
    }

    /// Counts a write of `name` at `url`, failing it if told to.
    fn write(&self, name: &str, url: &str) -> Result<(), MemoryError> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        match self.failing.lock().expect("not poisoned").get(&key(name)) {
            Some(&status) => Err(error(status, url.into(), format!("`{name}` fails"))),
            None => Ok(()),
        }
    }

    fn new_id(&self, kind: &str) -> String {
        format!(
            "m-{kind}-{}",
            self.next_id.fetch_add(1, Ordering::SeqCst) + 1
        )
    }

    fn check_actions(role: &RoleState, url: &str) -> Result<(), MemoryError> {
        let actions = (role.privileges.values().flatten())
            .chain(role.grants.values().flat_map(|g| &g.actions));
        match actions.into_iter().find(|a| !is_action(a)) {
            Some(unknown) => Err(error(
                400,
                url.into(),
                format!("unknown action `{unknown}`"),
            )),
            None => Ok(()),
        }
    }
}

impl SiteRead for MemorySite {
    type Error = MemoryError;

    async fn read_site(&self) -> Result<Live, MemoryError> {
        Ok(self.live())
    }

    async fn users(&self) -> Result<Vec<LiveUser>, MemoryError> {
        Ok(self.state().users.clone())
    }

    async fn roles(&self) -> Result<Vec<LiveRole>, MemoryError> {
        Ok(self.state().roles.clone())
    }
}

impl SiteWrite for MemorySite {
    type Slot = ();

    async fn slot(&self) {}

    async fn create_role(&self, role: &RoleState, _actor: &str) -> Result<String, MemoryError> {
        let url = "memory:/roles".to_string();
        self.write(&role.name, &url)?;
        Self::check_actions(role, &url)?;
        let id = self.new_id("role");
        let mut live = self.state();
        if live.roles.iter().any(|r| key(&r.name) == key(&role.name)) {
            return Err(error(
                409,
                url,
                format!("a role named `{}` exists", role.name),
            ));
        }
        live.roles.push(LiveRole::from_state(id.clone(), role));
        Ok(id)
    }

    async fn update_role(
        &self,
        id: &str,
        role: RoleWrite<'_>,
        _actor: &str,
    ) -> Result<(), MemoryError> {
        let url = format!("memory:/roles/{id}");
        self.write(&role.state.name, &url)?;
        Self::check_actions(role.state, &url)?;
        let mut live = self.state();
        let taken =
            (live.roles.iter()).any(|r| r.id != id && key(&r.name) == key(&role.state.name));
        let Some(found) = live.roles.iter_mut().find(|r| r.id == id) else {
            return Err(error(404, url, "no such role"));
        };
        if role.rename {
            if taken {
                return Err(error(409, url, "a role of that name exists"));
            }
            found.name = role.state.name.clone();
        }
        let mut updated = LiveRole::from_state(id.to_string(), role.state);
        updated.name = found.name.clone();
        updated.kept = role.kept.cloned().unwrap_or_default();
        *found = updated;
        Ok(())
    }

    async fn create_user(
        &self,
        user: &UserState,
        roles: &[String],
        _actor: &str,
    ) -> Result<(), MemoryError> {
        let url = "memory:/users".to_string();
        self.write(&user.email, &url)?;
        let id = self.new_id("user");
        let mut live = self.state();
        if live.users.iter().any(|u| key(&u.email) == key(&user.email)) {
            return Err(error(409, url, format!("a user `{}` exists", user.email)));
        }
        let everyone = (live.roles.iter()).find(|r| key(&r.name) == key(EVERYONE));
        let mut ids: std::collections::BTreeSet<String> = roles.iter().cloned().collect();
        ids.extend(everyone.map(|r| r.id.clone()));
        if let Some(unknown) = ids
            .iter()
            .find(|id| !live.roles.iter().any(|r| &r.id == *id))
        {
            return Err(error(400, url, format!("no role has the id `{unknown}`")));
        }
        live.users.push(LiveUser {
            id,
            email: user.email.clone(),
            first_name: user.first_name.clone(),
            last_name: user.last_name.clone(),
            roles: ids,
        });
        Ok(())
    }

    async fn update_user(&self, id: &str, update: &UserWrite) -> Result<(), MemoryError> {
        let url = format!("memory:/users/{id}");
        let mut live = self.state();
        let email = (live.users.iter().find(|u| u.id == id)).map(|u| u.email.clone());
        let Some(email) = email else {
            return Err(error(404, url, "no such user"));
        };
        self.write(&email, &url)?;
        let known: std::collections::BTreeSet<String> =
            live.roles.iter().map(|r| r.id.clone()).collect();
        let user = live
            .users
            .iter_mut()
            .find(|u| u.id == id)
            .expect("found above");
        if let Some(first) = &update.first_name {
            user.first_name = first.clone();
        }
        if let Some(last) = &update.last_name {
            user.last_name = last.clone();
        }
        if let Some(roles) = &update.roles {
            if let Some(unknown) = roles.iter().find(|r| !known.contains(*r)) {
                return Err(error(400, url, format!("no role has the id `{unknown}`")));
            }
            user.roles = roles.iter().cloned().collect();
        }
        Ok(())
    }

    async fn delete_user(&self, id: &str) -> Result<(), MemoryError> {
        let url = format!("memory:/users/{id}");
        let mut live = self.state();
        let Some(at) = live.users.iter().position(|u| u.id == id) else {
            return Err(error(404, url, "no such user"));
        };
        self.write(&live.users[at].email.clone(), &url)?;
        live.users.remove(at);
        Ok(())
    }

    async fn delete_role(&self, id: &str) -> Result<(), MemoryError> {
        let url = format!("memory:/roles/{id}");
        let mut live = self.state();
        let Some(at) = live.roles.iter().position(|r| r.id == id) else {
            return Err(error(404, url, "no such role"));
        };
        let name = live.roles[at].name.clone();
        self.write(&name, &url)?;
        if [ADMIN, EVERYONE].iter().any(|n| key(n) == key(&name)) {
            return Err(error(403, url, format!("`{name}` is never deleted")));
        }
        live.roles.remove(at);
        for user in &mut live.users {
            user.roles.remove(id);
        }
        Ok(())
    }
}
