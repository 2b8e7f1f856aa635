//! `rolecall-engine`: what needs both the core model and the API client.
//!
//! - [`fetch`]: read a site into [`Live`] (complete or an error);
//! - [`execute`]: carry out a [`Plan`] through a [`Writer`], phase by phase,
//!   calls concurrent within a phase, each change's [`Outcome`] reported;
//! - [`saved::compare`]: a saved plan against a plan made now, each
//!   difference judged stale (the site or the config moved) or edited;
//! - [`drift`]: label each difference with where it comes from.
//!
//! It knows nothing of clap, terminals or environment variables: the
//! command line resolves those and calls in. The API is described in
//! `docs/periscope-api.md`.

pub mod drift;
mod execute;
mod fetch;
pub mod saved;

pub use execute::{ExecuteOptions, Failure, OnOutcome, Outcome, Report, Skip, Stop, execute};
pub use fetch::{Recorded, SnapshotError, fetch, read_snapshot, snapshot, to_live};

use rolecall_core::diagnostic::Diagnostic;
use rolecall_core::live::Live;
use rolecall_core::plan::{self, Plan, Review, Selection};
use rolecall_core::{Desired, SourceMap};

#[cfg(doc)]
use periscope_client::Writer;

/// Why a plan could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The site could not be read whole.
    #[error(transparent)]
    Fetch(#[from] periscope_client::Error),
    /// The config does not fit the site (dashboards, roles, the actor).
    #[error("the config does not fit the site: {} errors", .0.len())]
    Config(Vec<Diagnostic>),
}

/// The plan for `desired` against `live`, with every safety rule checked,
/// and beside it what it does to people's access.
pub fn plan(
    desired: &Desired,
    sources: &SourceMap,
    live: &Live,
    selection: &Selection,
) -> Result<(Plan, Review), PlanError> {
    let plan = plan::diff(desired, sources, live, selection).map_err(PlanError::Config)?;
    Ok(rolecall_core::pipeline::judge(plan, live, desired))
}
