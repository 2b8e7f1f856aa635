//! Checks of a config file's raw text, before YAML reads it: what a reviewer
//! cannot see in a diff must not change what the config says.

use crate::diagnostic::{Diagnostic, FileId, Pos};

/// At most this many control characters are reported per file.
const MAX_REPORTED: usize = 10;

fn pos(file: FileId, line: usize, col: usize, len: usize) -> Pos {
    let n = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
    Pos {
        file,
        line: n(line),
        col: n(col),
        len: n(len),
    }
}

/// NUL and the other C0 controls (but tab, line feed and carriage return),
/// and DEL: errors at their place. A NUL would end the text for the YAML
/// parser, silently dropping what follows; git shows such a file only as
/// "binary", so no reviewer would see it.
pub(super) fn control_characters(file: FileId, text: &str) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (i, line) in text.split('\n').enumerate() {
        for (col, c) in line.chars().enumerate() {
            let bad = (c.is_ascii_control() && !matches!(c, '\t' | '\r')) || c == '\u{7f}';
            if !bad {
                continue;
            }
            let name = match c {
                '\0' => "NUL".to_string(),
                '\u{1b}' => "ESC".to_string(),
                '\u{7f}' => "DEL".to_string(),
                c => format!("U+{:04X}", c as u32),
            };
            out.push(
                Diagnostic::error(format!("a control character ({name}) in the config"))
                    .at(pos(file, i + 1, col + 1, 1), "")
                    .hint("remove it: a config is plain text, and git shows a file with control characters as binary, so a reviewer cannot see what follows"),
            );
            if out.len() == MAX_REPORTED {
                return out;
            }
        }
    }
    out
}

/// `#101: [read_dashboards]` unquoted is a YAML comment: the grant is gone
/// and nothing says so. A comment shaped like such a key gets a warning.
pub(super) fn commented_grants(file: FileId, text: &str) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (i, line) in text.split('\n').enumerate() {
        let trimmed = line.trim_start();
        let Some(rest) = trimmed.strip_prefix('#') else {
            continue;
        };
        let Some((id, value)) = rest.split_once(':') else {
            continue;
        };
        let looks_like_id = !id.is_empty()
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            && value.trim_start().starts_with('[');
        if !looks_like_id {
            continue;
        }
        let col = line.len() - trimmed.len();
        out.push(
            Diagnostic::warning(format!(
                "`#{id}:` is a YAML comment, not a dashboard: this line is ignored"
            ))
            .at(pos(file, i + 1, col + 1, id.len() + 2), "")
            .hint(format!(
                "to grant on dashboard {id}, quote the key: `\"#{id}\": {}`",
                value.trim()
            )),
        );
    }
    out
}
