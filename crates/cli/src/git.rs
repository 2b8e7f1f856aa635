//! Every git command rolecall runs, run one way: `git -C DIR ...`, its
//! output or an error naming the command. The commit a config is at (for a
//! saved plan's reader) and a config as it was at a revision (drift's
//! baseline).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{CliError, CliResult};

/// Runs git in `dir`; its output, or an error naming the command.
fn run(dir: &Path, args: &[&str]) -> CliResult<Vec<u8>> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .map_err(|e| CliError::msg(format!("cannot run git: {e}")))?;
    if !output.status.success() {
        return Err(CliError::msg(format!(
            "`git {}` failed: {}",
            args.join(" "),
            rolecall_core::text::clean(String::from_utf8_lossy(&output.stderr).trim())
        )));
    }
    Ok(output.stdout)
}

/// The config at `rev`, written out into `into`: the same files, from the
/// repository that holds the config. Returns the path to load.
pub fn config_at_rev(config: &Path, rev: &str, into: &Path) -> CliResult<PathBuf> {
    if rev.starts_with('-') || rev.contains(':') || rev.is_empty() {
        return Err(CliError::msg(format!(
            "`{}` is not a revision",
            rolecall_core::text::clean(rev)
        ))
        .with_hint(
            "--baseline-rev takes a revision git knows, such as `HEAD~1` or `origin/main`",
        ));
    }
    let abs = std::fs::canonicalize(config)
        .map_err(|e| CliError::msg(format!("cannot find `{}`: {e}", config.display())))?;
    let dir = if abs.is_dir() {
        abs.clone()
    } else {
        abs.parent().unwrap_or(&abs).to_path_buf()
    };
    let root = String::from_utf8_lossy(&run(&dir, &["rev-parse", "--show-toplevel"])?)
        .trim()
        .to_string();
    let relative = abs
        .strip_prefix(&root)
        .map_err(|_| CliError::msg("the config is not inside its git repository"))?
        .to_string_lossy()
        .replace('\\', "/");
    let spec = if relative.is_empty() {
        ".".to_string()
    } else {
        relative.clone()
    };
    let listed = run(
        Path::new(&root),
        &["ls-tree", "-r", "-z", "--name-only", rev, "--", &spec],
    )
    .map_err(|e| {
        e.with_hint("--baseline-rev takes a revision git knows, such as `HEAD~1` or `origin/main`")
    })?;
    // NUL-separated: names as they are, never quoted.
    let files: Vec<String> = String::from_utf8_lossy(&listed)
        .split('\0')
        .filter(|f| !f.is_empty())
        .map(str::to_string)
        .collect();
    if files.is_empty() {
        return Err(CliError::msg(format!(
            "`{relative}` does not exist at `{rev}`"
        )));
    }
    for file in &files {
        let text = run(Path::new(&root), &["show", &format!("{rev}:{file}")])?;
        let path = Path::new(file);
        if !path
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
        {
            return Err(CliError::msg(format!(
                "`{}` at `{rev}` is not a path inside the config",
                rolecall_core::text::clean(file)
            )));
        }
        let target = into.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&target, text)?;
    }
    // A one-file config: its lock beside it, if the revision has one.
    // (`NAME.lock`; a revision written by rolecall 0.1 has it as
    // `rolecall.lock`, read as the config's lock then.)
    if !abs.is_dir() {
        let lock = rolecall_core::config::lock::path_for_file(Path::new(&relative));
        let old = Path::new(&relative).with_file_name(rolecall_core::config::lock::LOCK_FILE);
        for candidate in [&lock, &old] {
            let spec = candidate.to_string_lossy().replace('\\', "/");
            if let Ok(text) = run(Path::new(&root), &["show", &format!("{rev}:{spec}")]) {
                std::fs::write(into.join(&lock), text)?;
                break;
            }
        }
    }
    Ok(into.join(if relative.is_empty() { "." } else { &relative }))
}

/// The commit of the git work tree holding `path`, if any (for the reader of
/// a saved plan; nothing depends on it).
pub fn head_commit(path: &Path) -> Option<String> {
    let dir = if path.is_dir() {
        path
    } else {
        path.parent().filter(|p| !p.as_os_str().is_empty())?
    };
    let out = run(dir, &["rev-parse", "--verify", "--quiet", "HEAD"]).ok()?;
    let commit = String::from_utf8(out).ok()?.trim().to_string();
    (commit.len() == 40).then_some(commit)
}
