//! `rolecall-core`: the model of a rolecall config and everything that can be
//! done with it without a network: load, validate, plan, judge, render.
//!
//! Pure by design: no tokio, no reqwest. The YAML crate is used only in
//! [`config::load`]. Layers, each using only those before it: the leaves
//! ([`kinds`], [`text`], [`diagnostic`], [`live`]); [`config`]; [`plan`]
//! (the diff, selections, pins, safety rules, renderers, the file format);
//! [`access`]; [`pipeline`] (the planning pipeline every caller uses:
//! [`pipeline::plan`], saved plans judged again, the undo of site changes,
//! drift's labels); [`adopt`] (export, import, accept, and the one YAML text
//! writer). Grants are on any [`kinds::ObjectRef`]; only the config's
//! names and the lock know that dashboards have names.

pub mod access;
pub mod adopt;
pub mod config;
pub mod diagnostic;
pub mod kinds;
pub mod live;
pub mod pipeline;
pub mod plan;
pub mod review;
#[cfg(test)]
mod testing;
pub mod text;

pub use config::load::{LoadError, LoadOptions, Loaded, load_path, load_path_with, load_texts};
pub use config::model::Desired;
pub use diagnostic::{Diagnostic, Level, SourceMap, plural};
