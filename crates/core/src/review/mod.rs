//! Access reviews: the pack an auditor receives (who holds what, what was
//! found, what changed in the period) and the loop that turns reviewers'
//! decisions into a reviewed config change and proves it took effect.
//!
//! Everything here is computed from values the caller read: the site, the
//! config and its history, snapshots, an activity log and an HR directory.
//! Nothing here reads a clock, a file or the network.

pub mod decisions;
pub mod files;
pub mod findings;
pub mod html;
pub mod inputs;
pub mod model;
pub mod settings;
#[cfg(test)]
mod tests;
