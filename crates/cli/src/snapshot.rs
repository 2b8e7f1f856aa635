//! Snapshots: a site read written to a file with where and when it was
//! taken, and read back to plan without a key.

use crate::connect::Connection;
use crate::fsio::read_bounded;
use crate::fsio::write_file;
use std::path::Path;

use crate::error::{CliError, CliResult};
use crate::settings::Settings;
use rolecall_core::live::Live;
use rolecall_core::plan::Taken;

/// A snapshot to plan against, read within `--max-snapshot-size`.
pub(crate) fn recorded(
    path: &Path,
    settings: &Settings,
    config_site: &str,
) -> CliResult<rolecall_engine::Recorded> {
    let recorded = of_any_site(path, settings)?;
    if recorded.site != config_site {
        return Err(CliError::msg(format!(
            "the config is for the site `{config_site}` but the snapshot is of `{}`",
            rolecall_core::text::clean(&recorded.site)
        ))
        .with_hint("plan against a snapshot of the config's site"));
    }
    Ok(recorded)
}

/// A snapshot of whatever site it is of (no config to compare with:
/// `access`), its checksum verified.
pub(crate) fn of_any_site(
    path: &Path,
    settings: &Settings,
) -> CliResult<rolecall_engine::Recorded> {
    let text = read_bounded(path, settings.max_snapshot_size, "`--max-snapshot-size`")?;
    let recorded = rolecall_engine::read_snapshot(&text).map_err(|e| {
        CliError::msg(format!(
            "cannot plan against the snapshot `{}`: {e}; nothing was read or written",
            rolecall_core::text::path(path)
        ))
        .with_hint("take a snapshot with `rolecall export --format snapshot -o FILE` (or `apply`/`drift --snapshot-out FILE`) and do not edit it")
    })?;
    Ok(recorded)
}

/// Where and when a site was read, for a snapshot (never the key).
pub(crate) fn taken(endpoint: &str, live: &Live) -> Taken {
    Taken {
        endpoint: endpoint.to_string(),
        digest: live.checksum(),
        at: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
    }
}

/// The site as read, as a snapshot: with where and when it was taken, what
/// `rolecall plan --from-snapshot` plans against.
pub(crate) fn snapshot_text(site: &str, taken: Option<&Taken>, live: &Live) -> CliResult<String> {
    let mut text = serde_json::to_string_pretty(&rolecall_engine::snapshot(site, taken, live))?;
    text.push('\n');
    Ok(text)
}

/// `--snapshot-out FILE` of `apply` and `drift`: the site as read, published
/// for the plan jobs that hold no key.
pub(crate) fn write_snapshot(path: &Path, conn: &Connection, live: &Live) -> CliResult<()> {
    let taken = taken(&conn.config.endpoint, live);
    let text = snapshot_text(conn.reader.site(), Some(&taken), live)?;
    write_file(path, &text, "the snapshot")
}
