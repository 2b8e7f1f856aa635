//! Files read within a size limit and written without following links.

use std::path::Path;

use crate::error::{CliError, CliResult, Hint as _};

/// A file read whole, no further than `limit` bytes (`flag` raises it).
pub(crate) fn read_bounded(path: &Path, limit: usize, flag: &str) -> CliResult<String> {
    let bytes = read_bounded_bytes(path, limit, flag)?;
    let shown = rolecall_core::text::path(path);
    String::from_utf8(bytes).map_err(|_| CliError::msg(format!("`{shown}` is not UTF-8 text")))
}

/// The bytes of a file, refused past `limit` (see [`read_bounded`]).
pub(crate) fn read_bounded_bytes(path: &Path, limit: usize, flag: &str) -> CliResult<Vec<u8>> {
    use std::io::Read as _;
    let shown = rolecall_core::text::path(path);
    // A pipe or a device would be waited on, or read forever.
    if std::fs::metadata(path).is_ok_and(|m| !m.is_file()) {
        return Err(CliError::msg(format!("`{shown}` is not a regular file"))
            .with_hint("give the path of the file itself"));
    }
    let file = std::fs::File::open(path).map_err(|e| {
        CliError::msg(format!("cannot read `{shown}`: {e}"))
            .with_hint("check the path: a relative one is from the directory rolecall runs in")
    })?;
    let mut bytes = Vec::new();
    file.take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| CliError::msg(format!("cannot read `{shown}`: {e}")))?;
    if bytes.len() > limit {
        return Err(CliError::msg(format!(
            "`{shown}` is larger than {limit} bytes; nothing was read"
        ))
        .with_hint(format!("if it is really that large, raise {flag}")));
    }
    Ok(bytes)
}

/// Refuses an output path that is a symbolic link: a link committed where
/// a CI job writes its outputs would send them anywhere.
///
/// A relative path is checked whole (`out/plan.json` with `out` a link is
/// refused too): links committed in a checkout are the threat. An absolute
/// path's directories are the machine's (`/tmp` may be a link): only its
/// last part is checked.
pub(crate) fn not_a_link(path: &Path, what: &str) -> CliResult<()> {
    let parts: Vec<&Path> = if path.is_absolute() {
        vec![path]
    } else {
        path.ancestors()
            .filter(|p| !p.as_os_str().is_empty())
            .collect()
    };
    for part in parts {
        if std::fs::symlink_metadata(part).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(CliError::msg(format!(
                "`{}` is a symbolic link: {what} is not written through one",
                rolecall_core::text::path(part)
            ))
            .with_hint("remove the link, or write to another path"));
        }
    }
    Ok(())
}

/// Writes a file (never through a symbolic link), saying which one could
/// not be written.
pub(crate) fn write_file(path: &Path, text: &str, what: &str) -> CliResult<()> {
    not_a_link(path, what)?;
    std::fs::write(path, text)
        .map_err(|e| CliError::msg(format!("cannot write {what} to `{}`: {e}", path.display())))
        .hint("check that the directory exists and is writable")
}

/// Config files edited (`drift --write-config`, `review propose`), each
/// written whole; a byte-order mark a file had (loading drops it) is kept.
pub(crate) fn write_config_files(
    files: &std::collections::BTreeMap<std::path::PathBuf, String>,
) -> CliResult<()> {
    for (path, text) in files {
        let bom = std::fs::read(path).is_ok_and(|b| b.starts_with(b"\xef\xbb\xbf"));
        let text = if bom {
            format!("\u{feff}{text}")
        } else {
            text.clone()
        };
        write_file(path, &text, "the config")?;
    }
    Ok(())
}
