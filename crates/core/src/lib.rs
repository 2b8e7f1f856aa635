//! `rolecall-core`: the model of a rolecall config and everything that can be
//! done with it without a network: load, validate, diff, render.
//!
//! Pure by design: no tokio, no reqwest. The YAML crate is used only in
//! [`config::load`]. Layers, each using only those before it: the leaves
//! ([`kinds`], [`text`], [`diagnostic`], [`live`]); [`config`]; [`plan`];
//! [`access`]; [`adopt`].

pub mod access;
pub mod adopt;
pub mod config;
pub mod diagnostic;
pub mod kinds;
pub mod live;
pub mod pipeline;
pub mod plan;
pub mod text;

pub use config::load::{LoadError, LoadOptions, Loaded, load_path, load_path_with, load_texts};
pub use config::model::Desired;
pub use diagnostic::{Diagnostic, Level, SourceMap, plural};
