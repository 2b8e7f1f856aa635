//! `rolecall-engine`: the side that talks to the site. Everything that
//! plans, judges or labels is `rolecall_core::pipeline`; this crate only
//! reads and writes:
//!
//! - [`fetch`]: read a site into `Live` (complete or an error);
//! - [`execute`]: carry out a `Plan` through a `Writer`, phase by phase,
//!   calls concurrent within a phase, each change's [`Outcome`] reported;
//! - snapshots: a site read written to a file and read back
//!   ([`snapshot`], [`read_snapshot`]), for plans made without a key.
//!
//! It knows nothing of clap, terminals or environment variables: the
//! command line resolves those and calls in. The API is described in
//! `docs/periscope-api.md`.

mod execute;
mod fetch;

pub use execute::{ExecuteOptions, Failure, OnOutcome, Outcome, Report, Skip, Stop, execute};
pub use fetch::{Recorded, SnapshotError, fetch, read_snapshot, snapshot, to_live};
