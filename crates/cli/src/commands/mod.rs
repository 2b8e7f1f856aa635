//! One module per subcommand: its clap `Args` next to its `run()`.

pub mod completions;
pub mod emulator;
pub mod schema;
pub mod validate;
