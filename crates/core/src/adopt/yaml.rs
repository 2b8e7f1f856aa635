//! YAML text, written and edited by hand: the one writer of scalars and
//! flow lists (`export`, `import-csv`, `drift --write-config`), and the one
//! editor of an entry's lines that keeps every other byte of a file
//! (`drift --write-config`). Text only: what the text means is the
//! loader's (`config::load`).

use std::fmt::Write as _;
use std::path::Path;

use crate::diagnostic::{FileId, SourceMap};

/// Words YAML (1.1 or 1.2) reads as something else than text.
pub(super) const SPECIAL: &[&str] = &[
    "true", "false", "yes", "no", "on", "off", "y", "n", "null", "~", ".inf", "-.inf", "+.inf",
    ".nan",
];

/// `s` as a YAML scalar that reads back as exactly `s`: plain when that is
/// safe, double-quoted otherwise.
pub(super) fn scalar(s: &str) -> String {
    if is_plain_safe(s) {
        s.to_string()
    } else {
        quoted(s)
    }
}

pub(super) fn is_plain_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    let last = s.chars().last().unwrap_or(first);
    let starts_like_number = first.is_ascii_digit() || matches!(first, '-' | '+' | '.');
    first.is_alphabetic()
        && !starts_like_number
        && !last.is_whitespace()
        && last != ':'
        && !SPECIAL.iter().any(|w| w.eq_ignore_ascii_case(s))
        && !s.contains(": ")
        && !s.contains(" #")
        && s.chars().all(|c| {
            (c.is_alphanumeric()
                || matches!(
                    c,
                    ' ' | '_' | '-' | '.' | '@' | '+' | '/' | '(' | ')' | '&' | '\''
                ))
                && !crate::text::is_unsafe(c)
                && !matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{85}')
        })
}

/// A double-quoted YAML scalar.
pub(super) fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // Invisible and bidi characters are escaped too: a name from the
            // site reads in the file as it is, never as another one.
            c if c.is_control()
                || crate::text::is_invisible(c)
                || matches!(c, '\u{2028}' | '\u{2029}' | '\u{85}') =>
            {
                if (c as u32) > 0xFFFF {
                    let _ = write!(out, "\\U{:08X}", c as u32);
                } else {
                    let _ = write!(out, "\\u{:04X}", c as u32);
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `[a, b]`, each item a scalar.
pub(super) fn flow_list<'a>(items: impl IntoIterator<Item = &'a String>) -> String {
    let items: Vec<String> = items.into_iter().map(|i| scalar(i)).collect();
    format!("[{}]", items.join(", "))
}

/// A membership as a flow item: the role's name, or
/// `{role: NAME, until: DAY, reason: TEXT}` when it ends or says why.
pub(super) fn membership(
    name: &str,
    until: Option<crate::config::date::Date>,
    reason: Option<&str>,
) -> String {
    if until.is_none() && reason.is_none() {
        return scalar(name);
    }
    let mut parts = vec![format!("role: {}", scalar(name))];
    if let Some(d) = until {
        parts.push(format!("until: {d}"));
    }
    if let Some(r) = reason {
        parts.push(format!("reason: {}", quoted(r)));
    }
    format!("{{{}}}", parts.join(", "))
}

/// The lines of the entry whose key is on `line` (1-based) of `path`.
pub(super) fn entry_lines(sources: &SourceMap, path: &Path, line: u32) -> Vec<String> {
    let Some(file) = (0..sources.len())
        .map(|i| sources.get(FileId(i)))
        .find(|f| f.path == path)
    else {
        return Vec::new();
    };
    // Read from the entry's line on, as far as it goes ([`entry_end`]'s
    // rule): never the whole file, which may hold thousands of entries.
    let Some(head) = file.line(line) else {
        return Vec::new();
    };
    let k = indent(head);
    let mut lines = vec![head.to_string()];
    lines.extend(
        (line + 1..)
            .map_while(|n| file.line(n))
            .take_while(|l| l.trim().is_empty() || indent(l) > k)
            .map(str::to_string),
    );
    while lines.len() > 1 && lines.last().is_some_and(|l| l.trim().is_empty()) {
        lines.pop();
    }
    lines
}

/// The line (within an entry's lines) where `k` is written as a key.
pub(super) fn key_line(lines: &[String], k: &str) -> Option<usize> {
    let needle = format!("{k}:");
    lines
        .iter()
        .position(|l| l.trim_start().starts_with(&needle))
}

/// The items of the list written under the key `k` in an entry, in its
/// order: a flow list `[a, b]` on the key's line, or `- a` lines under it.
pub(super) fn written_items(lines: &[String], k: &str) -> Vec<String> {
    let Some(at) = key_line(lines, k) else {
        return Vec::new();
    };
    let unquote = |s: &str| s.trim().trim_matches(['"', '\'']).to_string();
    let rest = lines[at].trim_start()[k.len() + 1..].trim();
    if let Some(inner) = rest.strip_prefix('[') {
        let inner = inner.split(']').next().unwrap_or_default();
        return inner
            .split(',')
            .map(unquote)
            .filter(|s| !s.is_empty())
            .collect();
    }
    let depth = indent(&lines[at]);
    lines[at + 1..]
        .iter()
        .take_while(|l| l.trim().is_empty() || indent(l) > depth)
        .filter_map(|l| l.trim_start().strip_prefix("- ").map(unquote))
        .collect()
}

pub(super) fn indent(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

/// Whether a line is blank or a comment.
pub(super) fn blank(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#')
}

/// One edit at an entry.
pub(super) enum EntryEdit {
    /// The entry's roles (each a flow item: [`membership`]) and names
    /// (when the config sets them).
    User {
        roles: Vec<String>,
        first: Option<String>,
        last: Option<String>,
    },
    /// The entry goes.
    Remove,
    /// The entry written again, as these lines by depth (indented by the
    /// entry's own indentation and step).
    Replace(Vec<(usize, String)>),
    /// The entry's key, written anew (a role renamed on the site).
    Rekey(String),
}

/// `text` with `edit` made to the entry whose key is on `line` (1-based).
pub(super) fn apply(text: &str, line: usize, edit: &EntryEdit) -> String {
    let ends_nl = text.ends_with('\n');
    // The file's own line ends (a CRLF file stays CRLF).
    let nl = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let at = line - 1;
    let Some(head) = lines.get(at).cloned() else {
        return text.to_string();
    };
    let k = indent(&head);
    let end = entry_end(&lines, at, k);
    match edit {
        EntryEdit::Remove => {
            lines.drain(at..end);
        }
        EntryEdit::Replace(new) => {
            // The entry's own step of indentation, else two spaces.
            let step = (at + 1..end)
                .find(|&i| !blank(&lines[i]))
                .map_or(2, |i| indent(&lines[i]).saturating_sub(k))
                .max(1);
            let written: Vec<String> = new
                .iter()
                .map(|(depth, text)| format!("{}{text}", " ".repeat(k + depth * step)))
                .collect();
            lines.splice(at..end, written);
        }
        EntryEdit::User { roles, first, last } => edit_user(&mut lines, at, k, roles, first, last),
        EntryEdit::Rekey(new) => {
            // `  Old Name:  # comment` -> `  New Name:  # comment`.
            let line = &lines[at];
            if let Some(colon) = key_end(line) {
                lines[at] = format!("{}{new}{}", " ".repeat(k), &line[colon..]);
            }
        }
    }
    let mut out = lines.join(nl);
    if ends_nl {
        out.push_str(nl);
    }
    out
}

/// Where the key of a mapping line ends (its `:`), past a quoted key.
pub(super) fn key_end(line: &str) -> Option<usize> {
    let t = line.trim_start();
    let lead = line.len() - t.len();
    let from = match t.chars().next() {
        Some(q @ ('"' | '\'')) => t[1..].find(q).map(|i| i + 2)?,
        _ => 0,
    };
    t[from..].find(':').map(|i| lead + from + i)
}

/// A user entry's roles and names set, in its flow or block form.
pub(super) fn edit_user(
    lines: &mut Vec<String>,
    at: usize,
    k: usize,
    roles: &[String],
    first: &Option<String>,
    last: &Option<String>,
) {
    let list = format!("[{}]", roles.join(", "));
    let head = lines[at].clone();
    if head.contains('{') {
        // A flow mapping on one line: `jane@acme.com: {roles: [A]}`.
        lines[at] = flow_set(&head, "roles", &list);
        for (field, value) in [("first_name", first), ("last_name", last)] {
            if let Some(v) = value {
                lines[at] = flow_set(&lines[at], field, &scalar(v));
            }
        }
        return;
    }
    let end = entry_end(lines, at, k);
    block_set(lines, at, end, k, "roles", &list);
    for (field, value) in [("first_name", first), ("last_name", last)] {
        if let Some(v) = value {
            let end = entry_end(lines, at, k);
            block_set(lines, at, end, k, field, &scalar(v));
        }
    }
}

/// The end of the entry whose key (indented `k`) is on line `at`: every
/// deeper line after it; blank lines and comments at its own depth or less
/// belong to what follows.
pub(super) fn entry_end(lines: &[String], at: usize, k: usize) -> usize {
    let mut end = at + 1;
    while end < lines.len() && (lines[end].trim().is_empty() || indent(&lines[end]) > k) {
        end += 1;
    }
    while end > at + 1 && lines[end - 1].trim().is_empty() {
        end -= 1;
    }
    end
}

/// Sets `field: value` in a one-line flow mapping, keeping everything else.
pub(super) fn flow_set(line: &str, field: &str, value: &str) -> String {
    let needle = format!("{field}:");
    if let Some(start) = line.find(&needle) {
        let rest = &line[start + needle.len()..];
        // The value runs to the `,` or `}` that closes it, past a `[...]`.
        let trimmed = rest.trim_start();
        let lead = rest.len() - trimmed.len();
        let len = if trimmed.starts_with('[') {
            trimmed.find(']').map_or(trimmed.len(), |i| i + 1)
        } else {
            trimmed.find([',', '}']).unwrap_or(trimmed.len())
        };
        let value_end = start + needle.len() + lead + len;
        return format!("{}{needle} {value}{}", &line[..start], &line[value_end..]);
    }
    match line.rfind('}') {
        Some(close) => {
            let inner = line[..close].trim_end();
            let sep = if inner.ends_with('{') { "" } else { ", " };
            format!("{inner}{sep}{field}: {value}{}", &line[close..])
        }
        None => line.to_string(),
    }
}

/// Sets `field: value` in a block entry (`lines[at..end]`, key indent `k`):
/// the field's line rewritten (a block list under it folded into the flow
/// value), or a line added after the key.
pub(super) fn block_set(
    lines: &mut Vec<String>,
    at: usize,
    end: usize,
    k: usize,
    field: &str,
    value: &str,
) {
    let prefix = format!("{field}:");
    let found = (at + 1..end).find(|&i| {
        let l = &lines[i];
        l.trim_start().starts_with(&prefix) && indent(l) > k
    });
    match found {
        Some(i) => {
            let ind = indent(&lines[i]);
            let after = &lines[i][ind + prefix.len()..];
            // A comment after the value is kept.
            let comment = after
                .find(" #")
                .filter(|_| !after.trim_start().starts_with('"'))
                .map(|c| {
                    let start = after[..c].trim_end().len();
                    after[start..].to_string()
                })
                .unwrap_or_default();
            let was_block = after.trim().is_empty() || after.trim().starts_with('#');
            lines[i] = format!("{}{prefix} {value}{comment}", " ".repeat(ind));
            if was_block {
                // The `- item` lines under it go.
                let mut j = i + 1;
                while j < end
                    && (lines[j].trim().is_empty()
                        || indent(&lines[j]) > ind
                        || lines[j].trim_start().starts_with("- "))
                {
                    if blank(&lines[j]) && lines[j].trim().is_empty() {
                        break;
                    }
                    j += 1;
                }
                lines.drain(i + 1..j);
            }
        }
        None => {
            let child = (at + 1..end)
                .find(|&i| !blank(&lines[i]))
                .map_or(k + 2, |i| indent(&lines[i]));
            lines.insert(at + 1, format!("{}{prefix} {value}", " ".repeat(child)));
        }
    }
}
