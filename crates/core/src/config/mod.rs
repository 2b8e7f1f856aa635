//! A config: its files read and merged ([`load`]), checked against the
//! rules a site cannot tell (`validate`), described as a JSON Schema
//! ([`schema`]), held as the desired state ([`model`]), in the words of the
//! API ([`vocab`]). Depends on nothing of the crate but [`crate::kinds`],
//! [`crate::diagnostic`] and [`crate::text`].

pub mod date;
pub mod globs;
pub mod load;
pub mod lock;
pub mod model;
pub mod schema;
mod validate;
pub mod vocab;
