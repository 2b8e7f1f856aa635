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

/// The config at `rev`, written out into `into`: the files the loader reads
/// (`*.yaml`, `*.yml`, the lock), from the repository that holds the config.
/// A file over `max_file` bytes is refused (as the loader refuses it).
/// Returns the path to load.
pub(crate) fn config_at_rev(
    config: &Path,
    rev: &str,
    into: &Path,
    max_file: usize,
) -> CliResult<PathBuf> {
    check_rev(rev, "--baseline-rev")?;
    let (abs, root, relative) = locate(config)?;
    let spec = if relative.is_empty() {
        ".".to_string()
    } else {
        relative.clone()
    };
    let listed = run(
        Path::new(&root),
        &["ls-tree", "-r", "-z", "-l", rev, "--", &spec],
    )
    .map_err(|e| {
        e.with_hint("--baseline-rev takes a revision git knows, such as `HEAD~1` or `origin/main`")
    })?;
    if listed.is_empty() {
        return Err(CliError::msg(format!(
            "`{relative}` does not exist at `{rev}`"
        )));
    }
    let files = entries(&listed, rev, max_file)?;
    let oids: Vec<&str> = files.iter().map(|(_, oid)| oid.as_str()).collect();
    for ((path, _), text) in files.iter().zip(blobs(Path::new(&root), &oids)?) {
        if !path
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
        {
            return Err(CliError::msg(format!(
                "`{}` at `{rev}` is not a path inside the config",
                rolecall_core::text::clean(&path.to_string_lossy())
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

/// A revision that cannot be taken for an option (`-x`) or a path (`a:b`).
fn check_rev(rev: &str, flag: &str) -> CliResult<()> {
    if rev.starts_with('-') || rev.contains(':') || rev.is_empty() {
        return Err(CliError::msg(format!(
            "`{}` is not a revision",
            rolecall_core::text::clean(rev)
        ))
        .with_hint(format!(
            "{flag} takes a revision git knows, such as `HEAD~1` or `origin/main`"
        )));
    }
    Ok(())
}

/// The config's absolute path, its repository's root, and its path there.
fn locate(config: &Path) -> CliResult<(PathBuf, String, String)> {
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
    Ok((abs, root, relative))
}

/// A commit of the config's history.
pub(crate) struct LogEntry {
    pub sha: String,
    pub date: String,
    pub author: String,
    pub message: String,
}

/// The commits after `rev` up to HEAD that touched the config, oldest
/// first, at most `max` of them (more is an error naming the flag); and
/// the commit `rev` itself (the period's start).
pub(crate) fn log_since(
    config: &Path,
    rev: &str,
    max: usize,
) -> CliResult<(LogEntry, Vec<LogEntry>)> {
    check_rev(rev, "--since")?;
    let (_, root, relative) = locate(config)?;
    let spec = if relative.is_empty() {
        ".".to_string()
    } else {
        relative
    };
    let format = "--format=%H%x1f%cI%x1f%an%x1f%B%x1e";
    let parse = |bytes: Vec<u8>| -> Vec<LogEntry> {
        String::from_utf8_lossy(&bytes)
            .split('\u{1e}')
            .filter_map(|record| {
                let mut f = record.trim_start_matches('\n').splitn(4, '\u{1f}');
                let (sha, date, author, message) = (f.next()?, f.next()?, f.next()?, f.next()?);
                (sha.len() == 40).then(|| LogEntry {
                    sha: sha.to_string(),
                    date: date.to_string(),
                    author: author.to_string(),
                    message: message.trim().to_string(),
                })
            })
            .collect()
    };
    let start = parse(
        run(Path::new(&root), &["log", "-1", format, rev, "--"]).map_err(|e| {
            e.with_hint(
                "--since takes a revision git knows, such as the last review's tag or `HEAD~50`",
            )
        })?,
    )
    .pop()
    .ok_or_else(|| {
        CliError::msg(format!(
            "`{}` is not a commit",
            rolecall_core::text::clean(rev)
        ))
    })?;
    let range = format!("{rev}..HEAD");
    let commits = parse(run(
        Path::new(&root),
        &["log", "--reverse", format, &range, "--", &spec],
    )?);
    if commits.len() > max {
        return Err(CliError::msg(format!(
            "{} commits touched the config since `{}`: more than {max}",
            commits.len(),
            rolecall_core::text::clean(rev)
        ))
        .with_hint("raise the limit with `--max-history N`, or start the period later"));
    }
    Ok((start, commits))
}

/// The entries of `git ls-tree -r -z -l` the loader reads: blobs (never a
/// submodule) named `*.yaml`, `*.yml` (in any case) or `*.lock`, each its
/// path (its bytes as they are) and object id.
fn entries(listed: &[u8], rev: &str, max_file: usize) -> CliResult<Vec<(PathBuf, String)>> {
    let mut files = Vec::new();
    for entry in listed.split(|b| *b == 0).filter(|e| !e.is_empty()) {
        // "MODE TYPE OID SIZE\tPATH"
        let Some(tab) = entry.iter().position(|b| *b == b'\t') else {
            continue;
        };
        let meta = String::from_utf8_lossy(&entry[..tab]);
        let path = &entry[tab + 1..];
        let mut fields = meta.split_whitespace();
        let (Some(_), Some("blob"), Some(oid), Some(size)) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let name = path.rsplit(|b| *b == b'/').next().unwrap_or(path);
        let name = String::from_utf8_lossy(name).to_ascii_lowercase();
        if !(name.ends_with(".yaml") || name.ends_with(".yml") || name.ends_with(".lock")) {
            continue;
        }
        let path = os_path(path)?;
        if size.parse::<usize>().map_or(true, |n| n > max_file) {
            return Err(CliError::msg(format!(
                "`{}` at `{rev}` is larger than {max_file} bytes: not read",
                rolecall_core::text::clean(&path.to_string_lossy())
            ))
            .with_hint("raise the limit with `--max-config-size`"));
        }
        files.push((path, oid.to_string()));
    }
    Ok(files)
}

/// A path from git's bytes: as they are on Unix; elsewhere UTF-8 only.
fn os_path(bytes: &[u8]) -> CliResult<PathBuf> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt as _;
        Ok(PathBuf::from(std::ffi::OsStr::from_bytes(bytes)))
    }
    #[cfg(not(unix))]
    {
        String::from_utf8(bytes.to_vec())
            .map(PathBuf::from)
            .map_err(|_| CliError::msg("a file name at the revision is not UTF-8"))
    }
}

/// The contents of the blobs `oids`, in their order, read by one `git
/// cat-file --batch` (a process a file cost a second on a config of a
/// hundred files).
fn blobs(root: &Path, oids: &[&str]) -> CliResult<Vec<Vec<u8>>> {
    use std::io::{BufRead as _, Read as _, Write as _};
    let mut child = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["cat-file", "--batch"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| CliError::msg(format!("cannot run git: {e}")))?;
    let mut stdin = child.stdin.take().expect("piped");
    let requests: String = oids.iter().map(|oid| format!("{oid}\n")).collect();
    // Written from a thread: git answers while it reads, and a full pipe
    // either way would stop both.
    let writer = std::thread::spawn(move || stdin.write_all(requests.as_bytes()));
    let mut out = std::io::BufReader::new(child.stdout.take().expect("piped"));
    let mut texts = Vec::with_capacity(oids.len());
    for oid in oids {
        let mut header = String::new();
        out.read_line(&mut header)?;
        // "OID blob SIZE"
        let size = match header.split_whitespace().collect::<Vec<_>>()[..] {
            [_, "blob", size] => size.parse::<usize>().ok(),
            _ => None,
        }
        .ok_or_else(|| CliError::msg(format!("`git cat-file` has no blob {oid}")))?;
        let mut text = vec![0; size];
        out.read_exact(&mut text)?;
        let mut newline = [0u8; 1];
        out.read_exact(&mut newline)?;
        texts.push(text);
    }
    let _ = writer.join();
    let _ = child.wait();
    Ok(texts)
}

/// The commit of the git work tree holding `path`, if any (for the reader of
/// a saved plan; nothing depends on it).
pub(crate) fn head_commit(path: &Path) -> Option<String> {
    let dir = if path.is_dir() {
        path
    } else {
        path.parent().filter(|p| !p.as_os_str().is_empty())?
    };
    let out = run(dir, &["rev-parse", "--verify", "--quiet", "HEAD"]).ok()?;
    let commit = String::from_utf8(out).ok()?.trim().to_string();
    (commit.len() == 40).then_some(commit)
}
