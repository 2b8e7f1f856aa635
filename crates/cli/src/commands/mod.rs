//! One module per subcommand: its clap `Args` next to its `run()`.

pub mod access;
pub mod apply;
pub mod completions;
pub mod drift;
pub mod emulator;
pub mod export;
pub mod import_csv;
pub mod plan;
pub mod schema;
pub mod site;
pub mod validate;
