//! `rolecall-engine`: the side that talks to the site. Everything that
//! plans, judges or labels is `rolecall_core::pipeline`; this crate only
//! reads and writes:
//!
//! - [`site`]: the seam in front of the API, [`SiteRead`] and
//!   [`SiteWrite`] in the core's terms; [`rbac`] implements them with the
//!   RBAC client, [`memory`] with a site in memory (the engine's tests);
//! - [`fetch`]: read a site into `Live` (complete or an error);
//! - [`execute`]: carry out a `Plan` through a [`SiteWrite`], phase by
//!   phase, calls concurrent within a phase, each change's [`Outcome`]
//!   reported;
//! - snapshots: a site read written to a file and read back
//!   ([`snapshot`], [`read_snapshot`]), for plans made without a key.
//!
//! It knows nothing of clap, terminals or environment variables: the
//! command line resolves those and calls in. The API is described in
//! `docs/periscope-api.md`.

mod execute;
mod fetch;
pub mod memory;
pub mod rbac;
pub mod site;

pub use execute::{ExecuteOptions, Failure, OnOutcome, Outcome, Report, Skip, Stop, execute};
pub use fetch::{Recorded, SnapshotError, fetch, read_snapshot, snapshot};
pub use rbac::to_live;
pub use site::{CallError, RoleWrite, SiteRead, SiteWrite, UserWrite};
