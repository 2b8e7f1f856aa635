//! Diagnostics on stderr, shared by every command that loads a config.

use std::io::Write as _;
use std::path::Path;

use rolecall_core::config::load::{self, LoadError};
use rolecall_core::diagnostic::{Diagnostic, SourceMap, UNDEFINED_ROLE};

use crate::settings::Settings;

/// Rendering stops after this many diagnostics; the count of the rest is given.
const MAX_SHOWN: usize = 200;

/// Undefined roles shown before the rest are counted (all with `-v`): a
/// config that leaves role definitions to the site may name a thousand.
const MAX_UNDEFINED: usize = 20;

/// Prints diagnostics like rustc; with `-q`, errors only.
pub(crate) fn print_diagnostics(
    settings: &Settings,
    sources: &SourceMap,
    diagnostics: &[Diagnostic],
) {
    let mut undefined = 0;
    let shown: Vec<&Diagnostic> = diagnostics
        .iter()
        .filter(|d| d.is_error() || !settings.quiet)
        .filter(|d| {
            if d.is_error() || d.code != Some(UNDEFINED_ROLE) || settings.verbose > 0 {
                return true;
            }
            undefined += 1;
            undefined <= MAX_UNDEFINED
        })
        .collect();
    let mut stderr = settings.stderr().lock();
    for d in shown.iter().take(MAX_SHOWN) {
        // A config may quote anything, the key included: redacted as server
        // text is.
        let _ = writeln!(stderr, "{}", settings.redact(&d.render(sources, true)));
    }
    if shown.len() > MAX_SHOWN {
        let _ = writeln!(
            stderr,
            "... and {} more not shown; fix the ones above and run again\n",
            shown.len() - MAX_SHOWN
        );
    }
    if undefined > MAX_UNDEFINED {
        let _ = writeln!(
            stderr,
            "... and {} more roles not defined in the config ({undefined} in all; `rolecall plan` looks for them on the site; `-v` lists them all)\n",
            undefined - MAX_UNDEFINED
        );
    }
}

/// Every diagnostic of an invalid config, then `error: <path> is not a valid
/// config: N errors<suffix>`.
pub(crate) fn report_invalid(settings: &Settings, path: &Path, err: &LoadError, suffix: &str) {
    print_diagnostics(settings, &err.sources, &err.diagnostics);
    let red = anstyle::AnsiColor::Red.on_default().bold();
    // The path as given may hold anything, the key included.
    let line = format!(
        "{red}error{red:#}: `{}` is not a valid config: {}{suffix}",
        path.display(),
        load::summary(&err.diagnostics)
    );
    let _ = writeln!(settings.stderr(), "{}", settings.redact(&line));
}

/// A writer that redacts the API key line by line: for output streamed
/// as it is computed (a key split across two writes is still caught; a
/// line holds it whole).
pub(crate) struct RedactLines<'s, W: std::io::Write> {
    settings: &'s Settings,
    line: Vec<u8>,
    out: W,
}

impl<'s, W: std::io::Write> RedactLines<'s, W> {
    pub(crate) fn new(settings: &'s Settings, out: W) -> Self {
        Self {
            settings,
            line: Vec::new(),
            out,
        }
    }

    fn emit(&mut self) -> std::io::Result<()> {
        let text = String::from_utf8_lossy(&self.line);
        let redacted = self.settings.redact(&text);
        self.out.write_all(redacted.as_bytes())?;
        self.line.clear();
        Ok(())
    }
}

impl<W: std::io::Write> std::io::Write for RedactLines<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        for chunk in buf.split_inclusive(|b| *b == b'\n') {
            self.line.extend_from_slice(chunk);
            if chunk.ends_with(b"\n") {
                self.emit()?;
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if !self.line.is_empty() {
            self.emit()?;
        }
        self.out.flush()
    }
}
