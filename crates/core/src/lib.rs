//! `rolecall-core`: the model of a rolecall config and everything that can be
//! done with it without a network: load, validate, diff, render.
//!
//! Pure by design: no tokio, no reqwest. The YAML crate is used only in
//! [`load`].

pub mod access;
pub mod diagnostic;
pub mod export;
pub mod import_csv;
pub mod kinds;
pub mod live;
pub mod load;
pub mod model;
pub mod plan;
pub mod schema;
pub mod text;
mod validate;
pub mod vocab;

pub use diagnostic::{Diagnostic, Severity, SourceMap, plural};
pub use load::{LoadError, LoadOptions, Loaded, load_path, load_path_with, load_texts};
pub use model::Desired;
