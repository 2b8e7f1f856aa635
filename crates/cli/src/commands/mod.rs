//! One module per subcommand: its clap `Args` next to its `run()`.

pub mod access;
pub mod apply;
pub mod completions;
pub mod drift;
#[cfg(feature = "sandbox")]
pub mod emulator;
/// Without the `sandbox` feature, `emulator` only says it is not in the build.
#[cfg(not(feature = "sandbox"))]
#[path = "no_sandbox.rs"]
pub mod emulator;
pub mod export;
pub mod import_csv;
pub mod lock;
pub mod plan;
pub mod schema;
pub mod show;
pub mod validate;
