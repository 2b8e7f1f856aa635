//! One module per subcommand: its clap `Args` next to its `run()`.

pub(crate) mod access;
pub(crate) mod apply;
pub(crate) mod completions;
pub(crate) mod drift;
#[cfg(feature = "sandbox")]
pub(crate) mod emulator;
/// Without the `sandbox` feature, `emulator` only says it is not in the build.
#[cfg(not(feature = "sandbox"))]
#[path = "no_sandbox.rs"]
pub(crate) mod emulator;
pub(crate) mod export;
pub(crate) mod import_csv;
pub(crate) mod lock;
pub(crate) mod plan;
pub(crate) mod review;
pub(crate) mod schema;
pub(crate) mod show;
pub(crate) mod validate;
