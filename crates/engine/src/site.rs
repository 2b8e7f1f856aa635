//! The seam in front of the API: what the engine asks of a site, in the
//! core's terms. The RBAC client is one implementation (`rbac`); a site in
//! memory (`memory`) is another, for the engine's tests. A second API
//! flavour (the vendor's User & Group API) is a third: `fetch` and
//! `execute` take the traits.

use std::future::Future;

use rolecall_core::live::{Kept, Live, LiveRole, LiveUser};
use rolecall_core::plan::{RoleState, UserState};

/// A failed call, as the engine reports it.
pub trait CallError: std::error::Error + Send + Sync + 'static {
    /// The HTTP status the site answered (`409` a conflict, `404` not
    /// found, `401`/`403` credentials refused); `None` when no answer came.
    fn status(&self) -> Option<u16>;
    /// The call that failed, if it has an address (never with a key).
    fn url(&self) -> Option<&str>;
}

/// What reads a site: all of it or an error, never a failure read as
/// "absent".
pub trait SiteRead: Send + Sync {
    /// Why a call failed.
    type Error: CallError;

    /// The whole site: users, roles and the objects grants are on.
    fn read_site(&self) -> impl Future<Output = Result<Live, Self::Error>> + Send;

    /// Every user (after a conflict, to tell whether a create happened).
    fn users(&self) -> impl Future<Output = Result<Vec<LiveUser>, Self::Error>> + Send;

    /// Every role.
    fn roles(&self) -> impl Future<Output = Result<Vec<LiveRole>, Self::Error>> + Send;
}

/// A role as one write sends it.
#[derive(Debug, Clone, Copy)]
pub struct RoleWrite<'a> {
    /// The role as the plan leaves it.
    pub state: &'a RoleState,
    /// What the live role holds that rolecall does not manage: sent back
    /// unchanged with every write of the role.
    pub kept: Option<&'a Kept>,
    /// Whether the write renames it (else its name is not sent).
    pub rename: bool,
}

/// The fields of a user one write changes; `None` leaves one as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserWrite {
    /// The new first name.
    pub first_name: Option<String>,
    /// The new last name.
    pub last_name: Option<String>,
    /// Role ids, Everyone's included: the whole membership.
    pub roles: Option<Vec<String>>,
}

/// What writes a site; every write names the admin who makes it (`actor`).
pub trait SiteWrite: SiteRead + 'static {
    /// Held while one call runs: the pace of the site's API.
    type Slot: Send;

    /// Waits for a slot to make one call in.
    fn slot(&self) -> impl Future<Output = Self::Slot> + Send;

    /// Creates a role; its id (empty when the site only checks writes).
    fn create_role(
        &self,
        role: &RoleState,
        actor: &str,
    ) -> impl Future<Output = Result<String, Self::Error>> + Send;

    /// Replaces a role's description, rights (and name, on a rename).
    fn update_role(
        &self,
        id: &str,
        role: RoleWrite<'_>,
        actor: &str,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Creates (invites) a user with these role ids.
    fn create_user(
        &self,
        user: &UserState,
        roles: &[String],
        actor: &str,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Changes the fields of a user that `update` sets.
    fn update_user(
        &self,
        id: &str,
        update: &UserWrite,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Deletes a user.
    fn delete_user(&self, id: &str) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Deletes a role.
    fn delete_role(&self, id: &str) -> impl Future<Output = Result<(), Self::Error>> + Send;
}
