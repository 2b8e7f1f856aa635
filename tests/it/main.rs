//! Integration tests: the real `rolecall` binary, and the core library on
//! real files. One test binary, a module per area.

mod apply;
mod cli;
mod emulator;
mod examples;
mod plan;
mod properties;
mod validate;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root (where `examples/` and `tests/` are).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the real binary in `dir` with no color and no inherited config.
pub fn rolecall(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rolecall"))
        .current_dir(dir)
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("ROLECALL_CONFIG")
        .env_remove("CLICOLOR_FORCE")
        .output()
        .expect("run rolecall")
}

/// Exit code, stdout and stderr in one block, for snapshots.
pub fn transcript(output: &Output) -> String {
    format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        output
            .status
            .code()
            .map_or("signal".into(), |c| c.to_string()),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}
