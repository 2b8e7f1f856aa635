//! `periscope-client`: the typed async client of the Periscope Data User &
//! Role Management API, as `docs/periscope-api.md` in the repository
//! describes it. It knows nothing of YAML, reads no environment variable and
//! names no command-line flag: the caller passes everything in
//! [`ClientConfig`].
//!
//! Two handles:
//! - [`ReadClient`] reads users, roles and dashboards. It has no way to send
//!   a write: `plan`, `drift`, `export` and `validate` get only this one.
//! - [`Writer`] writes (and reads through [`Writer::reader`]); `apply` gets
//!   it. Made in test mode, it sends `test_mode=true` on every write.
//!
//! Both tolerate what the API is allowed to do (ids as strings or numbers,
//! wrapped single objects, `DELETE` with `204` or `200`, lists with or
//! without cursors, extra fields), retry `429`, `5xx` and lost connections
//! with backoff (see [`RetryPolicy`]), share one rate limit, one bound on
//! calls in flight and one adaptive [`Pace`] (operations at once, requests a
//! second, `Retry-After` for the whole client), and never put the API key in
//! `Debug`, errors or logs.
//!
//! The read-only client cannot express a write:
//!
//! ```compile_fail,E0599
//! # async fn f(reader: periscope_client::ReadClient, user: periscope_client::NewUser) {
//! reader.create_user(&user).await; // no such method on a ReadClient
//! # }
//! ```
//!
//! ```compile_fail,E0616
//! # fn f(reader: periscope_client::ReadClient) {
//! let _ = reader.transport; // private: the transport is not reachable
//! # }
//! ```
//!
//! while the writer can (the same code, compiled):
//!
//! ```no_run
//! # async fn f(writer: periscope_client::Writer, user: periscope_client::NewUser) {
//! let _ = writer.create_user(&user).await;
//! # }
//! ```

mod config;
mod error;
mod pace;
mod read;
mod redact;
mod transport;
mod types;
mod write;

pub use config::{
    ApiKey, CallHook, CallRecord, ClientConfig, Credentials, DEFAULT_ENDPOINT, Limit,
    MAX_RATE_LIMIT, MIN_RATE_LIMIT, ReadLimits, RetryPolicy,
};
pub use error::Error;
pub use pace::{DEFAULT_CEILING, INITIAL_CONCURRENCY, Pace, PacePermit, PaceStats, Signal};
pub use read::{Listing, ProgressHook, ReadClient};
pub use types::{
    Dashboard, Id, LiveSite, NewRole, NewUser, Permission, Privilege, Role, RoleUpdate, User,
    UserUpdate,
};
pub use write::Writer;
