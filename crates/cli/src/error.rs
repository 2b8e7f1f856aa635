//! The one error type of the command line: what went wrong, the exit code
//! it means, and a hint. Rendered uv-style: `error: …`, one `  Caused by: …`
//! line per cause, then a blank line and `hint: …`.

use std::fmt::Display;
use std::io::Write;

use crate::exit;

/// A command's failure.
#[derive(Debug)]
pub struct CliError {
    /// `None`: already shown (diagnostics); only the exit code is left.
    error: Option<anyhow::Error>,
    hint: Option<String>,
    code: u8,
}

/// What every command returns: its exit code, or why it failed.
pub type CliResult<T = u8> = Result<T, CliError>;

impl CliError {
    /// An error with this message (exit 1).
    pub fn msg(message: impl Display) -> Self {
        Self {
            error: Some(anyhow::anyhow!("{message}")),
            hint: None,
            code: exit::ERROR,
        }
    }

    /// An error already shown to the user; exits with `code`.
    pub fn reported(code: u8) -> Self {
        Self {
            error: None,
            hint: None,
            code,
        }
    }

    /// With a hint: how to fix it.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// The same error with another exit code.
    pub fn with_code(mut self, code: u8) -> Self {
        self.code = code;
        self
    }

    /// The exit code it ends rolecall with.
    pub fn code(&self) -> u8 {
        self.code
    }

    /// Prints the error to `out` (stderr; nothing when it was shown
    /// already), each line through `redact` (the key's redaction).
    pub fn report(&self, out: &mut impl Write, redact: impl Fn(&str) -> String) {
        let Some(err) = &self.error else { return };
        let red = anstyle::AnsiColor::Red.on_default().bold();
        // What went wrong may quote a server or a config: shown safe.
        let safe = |t: String| redact(&rolecall_core::text::clean_lines(&t));
        let _ = writeln!(out, "{red}error{red:#}: {}", safe(err.to_string()));
        for cause in err.chain().skip(1) {
            let _ = writeln!(out, "  Caused by: {}", safe(cause.to_string()));
        }
        if let Some(hint) = &self.hint {
            let cyan = anstyle::AnsiColor::Cyan.on_default().bold();
            let _ = writeln!(out, "\n{cyan}hint{cyan:#}: {hint}");
        }
    }
}

impl<E: Into<anyhow::Error>> From<E> for CliError {
    fn from(e: E) -> Self {
        Self {
            error: Some(e.into()),
            hint: None,
            code: exit::ERROR,
        }
    }
}

/// `.hint("…")` on any result whose error becomes a [`CliError`].
pub(crate) trait Hint<T> {
    fn hint(self, hint: impl Into<String>) -> CliResult<T>;
}

impl<T, E: Into<CliError>> Hint<T> for Result<T, E> {
    fn hint(self, hint: impl Into<String>) -> CliResult<T> {
        self.map_err(|e| e.into().with_hint(hint))
    }
}
