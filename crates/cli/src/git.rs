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
    let mut texts = blobs(Path::new(&root), rev, &files)?.into_iter();
    for file in &files {
        let text = texts.next().unwrap_or_default();
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

/// The contents of `files` at `rev`, in their order, read by one `git
/// cat-file --batch` (a process a file cost a second on a config of a
/// hundred files). A name git's batch format cannot carry (a line break in
/// it) is read on its own.
fn blobs(root: &Path, rev: &str, files: &[String]) -> CliResult<Vec<Vec<u8>>> {
    use std::io::{BufRead as _, Read as _, Write as _};
    let (batched, alone): (Vec<&String>, Vec<&String>) =
        files.iter().partition(|f| !f.contains(['\n', '\r']));
    let mut child = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["cat-file", "--batch"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| CliError::msg(format!("cannot run git: {e}")))?;
    let mut stdin = child.stdin.take().expect("piped");
    let requests: String = batched.iter().map(|f| format!("{rev}:{f}\n")).collect();
    // Written from a thread: git answers while it reads, and a full pipe
    // either way would stop both.
    let writer = std::thread::spawn(move || stdin.write_all(requests.as_bytes()));
    let mut out = std::io::BufReader::new(child.stdout.take().expect("piped"));
    let mut read = std::collections::BTreeMap::new();
    for file in &batched {
        let mut header = String::new();
        out.read_line(&mut header)?;
        let size: usize = match header.trim_end().rsplit_once(' ') {
            Some((kind, size)) if kind.ends_with(" blob") => size.parse().unwrap_or(usize::MAX),
            _ => {
                return Err(CliError::msg(format!(
                    "`git cat-file --batch` found no file `{}` at `{rev}`",
                    rolecall_core::text::clean(file)
                )));
            }
        };
        if size > 1 << 30 {
            return Err(CliError::msg(format!(
                "`{}` at `{rev}` is larger than 1 GiB: not a config file",
                rolecall_core::text::clean(file)
            )));
        }
        let mut text = vec![0; size];
        out.read_exact(&mut text)?;
        let mut newline = [0u8; 1];
        out.read_exact(&mut newline)?;
        read.insert(file.as_str(), text);
    }
    let _ = writer.join();
    let _ = child.wait();
    for file in alone {
        read.insert(
            file.as_str(),
            run(root, &["show", &format!("{rev}:{file}")])?,
        );
    }
    Ok(files
        .iter()
        .map(|f| read.remove(f.as_str()).unwrap_or_default())
        .collect())
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
