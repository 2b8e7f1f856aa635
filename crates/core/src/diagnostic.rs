//! Diagnostics about a config: what is wrong, where (file:line:col and the
//! YAML path), and how to fix it, rendered the way rustc and uv render theirs.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::text::{clean, clean_lines, clip};

use anstyle::{AnsiColor, Style};

/// Index of a file in a [`SourceMap`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileId(pub usize);

/// A position in a config file: 1-based line and column (in characters), and
/// how many characters the thing there spans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos {
    /// The file.
    pub file: FileId,
    /// The line, from 1.
    pub line: u32,
    /// The column, from 1 (in characters).
    pub col: u32,
    /// How many characters to underline.
    pub len: u32,
}

/// One loaded config file.
#[derive(Debug)]
pub struct SourceFile {
    /// The path as the user would write it (relative to where they ran us when
    /// they gave a relative path).
    pub path: PathBuf,
    /// The file's text.
    pub text: String,
    line_starts: Vec<usize>,
    /// `false` for a file that fails the control-character check: its
    /// lines are never quoted (it may be anything, `/proc/self/environ`).
    quotable: bool,
}

impl SourceFile {
    /// A loaded file.
    pub fn new(path: PathBuf, text: String) -> Self {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Self {
            path,
            text,
            line_starts,
            quotable: true,
        }
    }

    /// Whether diagnostics may quote its lines.
    pub fn is_quotable(&self) -> bool {
        self.quotable
    }

    /// The text of a 1-based line, without its line break.
    pub fn line(&self, line: u32) -> Option<&str> {
        let i = usize::try_from(line).ok()?.checked_sub(1)?;
        let start = *self.line_starts.get(i)?;
        let end = self
            .line_starts
            .get(i + 1)
            .map_or(self.text.len(), |e| e - 1);
        Some(self.text[start..end].trim_end_matches('\r'))
    }
}

/// Every file a config was loaded from, so that positions can be shown.
#[derive(Debug, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    /// Adds a file; its id.
    pub fn add(&mut self, path: PathBuf, text: String) -> FileId {
        self.files.push(SourceFile::new(path, text));
        FileId(self.files.len() - 1)
    }

    /// The file of an id.
    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id.0]
    }

    /// Never quote this file's lines.
    pub fn withhold(&mut self, id: FileId) {
        self.files[id.0].quotable = false;
    }

    /// How many files.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether it holds no file.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The path of a file.
    pub fn path(&self, id: FileId) -> &Path {
        &self.get(id).path
    }

    /// The position `line:col`, `len` characters long, in the file shown
    /// as `path` (a config entry's origin).
    pub fn pos_in(&self, path: &str, line: u32, col: u32, len: usize) -> Option<Pos> {
        let file =
            (0..self.files.len()).find(|i| self.files[*i].path.display().to_string() == path)?;
        Some(Pos {
            file: FileId(file),
            line,
            col,
            len: u32::try_from(len).unwrap_or(u32::MAX),
        })
    }

    /// `file:line:col` of a position.
    /// `file:line:col`, the file's name escaped as names are.
    pub fn location(&self, pos: Pos) -> String {
        format!(
            "{}:{}:{}",
            crate::text::path(self.path(pos.file)),
            pos.line,
            pos.col
        )
    }
}

/// How bad a diagnostic is (a plan's change has a `Severity`, a config's
/// problem a level).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// The config cannot be used; nothing is sent to the site.
    Error,
    /// Probably a mistake, but the config can be used (often: it depends on
    /// what is on the site, which only `plan` can tell).
    Warning,
}

/// One problem found in a config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// An error or a warning.
    pub level: Level,
    /// What is wrong.
    pub message: String,
    /// Where it is. Only problems that are not in any file (a path that does
    /// not exist) have none.
    pub pos: Option<Pos>,
    /// The YAML path of the offending node: `users["jane@acme.com"].roles[1]`.
    pub path: Option<String>,
    /// How to fix it.
    pub hint: Option<String>,
    /// Other places that explain this one ("first defined here").
    pub related: Vec<(Pos, String)>,
    /// A stable name for diagnostics that callers treat specially.
    pub code: Option<&'static str>,
}

/// The warning for a user's role that the config does not define: `plan`
/// drops it once the site has resolved the name.
pub const UNDEFINED_ROLE: &str = "undefined-role";

impl Diagnostic {
    /// An error: the config cannot be used.
    pub fn error(message: impl Into<String>) -> Self {
        Self {
            level: Level::Error,
            message: message.into(),
            pos: None,
            path: None,
            hint: None,
            related: Vec::new(),
            code: None,
        }
    }

    /// A warning: probably a mistake.
    pub fn warning(message: impl Into<String>) -> Self {
        Self {
            level: Level::Warning,
            ..Self::error(message)
        }
    }

    /// At `pos`, with the YAML path of what is there.
    pub fn at(mut self, pos: Pos, path: impl Into<String>) -> Self {
        self.pos = Some(pos);
        let path = path.into();
        self.path = (!path.is_empty()).then_some(path);
        self
    }

    /// With a hint.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// With a hint, if any.
    pub fn maybe_hint(mut self, hint: Option<String>) -> Self {
        self.hint = hint.or(self.hint);
        self
    }

    /// With another place that matters (a first definition).
    pub fn related(mut self, pos: Pos, label: impl Into<String>) -> Self {
        self.related.push((pos, label.into()));
        self
    }

    /// Whether it is an error.
    pub fn is_error(&self) -> bool {
        self.level == Level::Error
    }

    /// Renders like rustc: the message, `--> file:line:col`, the source line
    /// with a caret under the spot, related places, then the hint. With
    /// `styled`, the text carries ANSI styles (the caller's stream strips them
    /// where color is off).
    pub fn render(&self, sources: &SourceMap, styled: bool) -> String {
        let st = Styles::new(styled);
        let mut out = String::new();
        let (label, head) = match self.level {
            Level::Error => ("error", st.error),
            Level::Warning => ("warning", st.warning),
        };
        let _ = writeln!(
            out,
            "{head}{label}{head:#}{b}: {}{b:#}",
            clip(&clean_lines(&self.message), MAX_TEXT),
            b = st.bold
        );
        let mut places: Vec<(Pos, String, bool)> = Vec::new();
        if let Some(pos) = self.pos {
            places.push((pos, self.path.clone().unwrap_or_default(), true));
        }
        places.extend(self.related.iter().map(|(p, l)| (*p, l.clone(), false)));
        let width = places
            .iter()
            .map(|(p, _, _)| p.line.to_string().len())
            .max()
            .unwrap_or(0);
        let pad = " ".repeat(width);
        let g = st.gutter;
        for (i, (pos, label, primary)) in places.iter().enumerate() {
            let arrow = if i == 0 && self.pos.is_some() {
                "-->"
            } else {
                ":::"
            };
            let _ = writeln!(out, "{pad}{g}{arrow}{g:#} {}", sources.location(*pos));
            let file = sources.get(pos.file);
            let Some(line) = file.line(pos.line).filter(|_| file.quotable) else {
                continue;
            };
            let (line, col) = window(
                line,
                usize::try_from(pos.col.saturating_sub(1)).unwrap_or(0),
            );
            let line = line.as_str();
            let (lead, marks) =
                underline(line, col, usize::try_from(pos.len).unwrap_or(1), width + 3);
            let (mark, style) = if *primary {
                ("^", head)
            } else {
                ("-", st.gutter)
            };
            let _ = writeln!(out, "{pad} {g}|{g:#}");
            let _ = writeln!(out, "{g}{:>width$} |{g:#} {line}", pos.line, width = width);
            let label = if label.is_empty() {
                String::new()
            } else {
                format!(" {}", clip(&clean(label), MAX_TEXT))
            };
            let _ = writeln!(
                out,
                "{pad} {g}|{g:#} {lead}{style}{}{label}{style:#}",
                mark.repeat(marks)
            );
        }
        if let Some(hint) = &self.hint {
            let hint = clip(&clean_lines(hint), MAX_TEXT).into_owned();
            let h = st.hint;
            if places.is_empty() {
                let _ = writeln!(out, "  {h}hint{h:#}: {hint}");
            } else {
                let _ = writeln!(out, "{pad} {g}|{g:#}");
                let _ = writeln!(out, "{pad} {g}={g:#} {h}hint{h:#}: {hint}");
            }
        }
        out
    }
}

/// The most characters of a message, hint or label that are shown.
const MAX_TEXT: usize = 400;

/// The most characters of a source line that are shown: a longer line is
/// cut to a window around the column.
const MAX_LINE: usize = 120;

/// A source line as shown (unsafe characters escaped, a long line cut
/// around `col`), and the column within what is shown.
/// What goes before the marks under `line` and how many marks, for a span
/// of `len` characters from character `col`: both by display width (a CJK
/// character or an emoji takes two columns, a combining mark none), tabs
/// kept as tabs before the span and counted to the next tab stop (every 8
/// columns of the terminal line, which starts `indent` columns before
/// `line`) within it. A span that starts on a quote covers the quoted
/// scalar as written, up to its closing quote: its escapes (`\u00e9`) are
/// longer in the source than in the value.
fn underline(line: &str, col: usize, len: usize, indent: usize) -> (String, usize) {
    use unicode_width::UnicodeWidthChar as _;
    let chars: Vec<char> = line.chars().collect();
    let col = col.min(chars.len());
    let len = match chars.get(col) {
        Some(&q @ ('"' | '\'')) => quoted_len(&chars[col..], q).unwrap_or(len),
        _ => len,
    };
    let end = (col + len.max(1)).min(chars.len());
    let advance = |at: usize, c: char| match c {
        '\t' => at + 8 - at % 8,
        c => at + c.width().unwrap_or(0),
    };
    let mut at = indent;
    let mut lead = String::new();
    for &c in &chars[..col] {
        let next = advance(at, c);
        lead.push_str(&if c == '\t' {
            "\t".to_string()
        } else {
            " ".repeat(next - at)
        });
        at = next;
    }
    let start = at;
    let end_at = chars[col..end].iter().fold(at, |at, &c| advance(at, c));
    (lead, (end_at - start).max(1))
}

/// The length in characters of the quoted scalar `chars` starts with,
/// quotes included, when it ends on this line.
fn quoted_len(chars: &[char], quote: char) -> Option<usize> {
    let mut i = 1;
    while i < chars.len() {
        match chars[i] {
            '\\' if quote == '"' => i += 2,
            c if c == quote && quote == '\'' && chars.get(i + 1) == Some(&'\'') => i += 2,
            c if c == quote => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

fn window(line: &str, col: usize) -> (String, usize) {
    let chars: Vec<char> = line.chars().collect();
    let show = |cs: &[char]| -> String {
        cs.iter()
            .map(|&c| {
                if c != '\t' && crate::text::is_unsafe(c) {
                    '\u{fffd}'
                } else {
                    c
                }
            })
            .collect()
    };
    if chars.len() <= MAX_LINE {
        return (show(&chars), col);
    }
    let start = col.saturating_sub(MAX_LINE / 3).min(chars.len() - MAX_LINE);
    let end = start + MAX_LINE;
    let mut shown = String::new();
    if start > 0 {
        shown.push('…');
    }
    shown.push_str(&show(&chars[start..end]));
    if end < chars.len() {
        shown.push('…');
    }
    (shown, col - start + usize::from(start > 0))
}

struct Styles {
    error: Style,
    warning: Style,
    bold: Style,
    gutter: Style,
    hint: Style,
}

impl Styles {
    fn new(styled: bool) -> Self {
        if !styled {
            let plain = Style::new();
            return Self {
                error: plain,
                warning: plain,
                bold: plain,
                gutter: plain,
                hint: plain,
            };
        }
        Self {
            error: AnsiColor::Red.on_default().bold(),
            warning: AnsiColor::Yellow.on_default().bold(),
            bold: Style::new().bold(),
            gutter: AnsiColor::Blue.on_default().bold(),
            hint: AnsiColor::Cyan.on_default().bold(),
        }
    }
}

/// `3 users`, `1 role`: a count and its noun, plural when it is not 1.
pub fn plural(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// The closest of `candidates` to a mistyped `word`, if one is close enough
/// to be what was meant.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = word.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&lower, &c.to_lowercase()), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_rustc() {
        let mut sources = SourceMap::default();
        let f = sources.add(
            "a.yaml".into(),
            "site: acme\nroles:\n  X:\n    descripton: y\n".into(),
        );
        let d = Diagnostic::error("unknown key `descripton`")
            .at(
                Pos {
                    file: f,
                    line: 4,
                    col: 5,
                    len: 10,
                },
                "roles[\"X\"].descripton",
            )
            .hint("did you mean `description`?")
            .related(
                Pos {
                    file: f,
                    line: 3,
                    col: 3,
                    len: 1,
                },
                "in this role",
            );
        insta::assert_snapshot!(d.render(&sources, false), @r#"
        error: unknown key `descripton`
         --> a.yaml:4:5
          |
        4 |     descripton: y
          |     ^^^^^^^^^^ roles["X"].descripton
         ::: a.yaml:3:3
          |
        3 |   X:
          |   - in this role
          |
          = hint: did you mean `description`?
        "#);
    }

    /// Carets by display width; a quoted scalar underlined as written.
    #[test]
    fn underlines_count_columns_not_characters() {
        // Two CJK characters (two columns each), then a plain word.
        assert_eq!(underline("財務: x", 4, 1, 4), ("      ".to_string(), 1));
        // An emoji under the span counts two.
        assert_eq!(underline("a: 🚀b", 3, 2, 4), ("   ".to_string(), 3));
        // A double-quoted scalar with an escape: the value is 4 characters,
        // the source 10 with its quotes.
        assert_eq!(
            underline(r#"k: "\u0061bc" x"#, 3, 6, 4),
            ("   ".to_string(), 10)
        );
        // A single-quoted one with a doubled quote.
        assert_eq!(underline("k: 'it''s' x", 3, 6, 4), ("   ".to_string(), 7));
        // Tabs stay tabs before the span; within it, a tab reaches the next
        // tab stop of the terminal line (the gutter is 4 columns here).
        assert_eq!(underline("\tk", 1, 1, 4), ("\t".to_string(), 1));
        // `k: "a` ends at column 4 + 5 = 9: the tab takes 7 columns.
        assert_eq!(
            underline("k: \"a\tb\"", 3, 5, 4),
            ("   ".to_string(), 2 + 7 + 2)
        );
    }

    #[test]
    fn did_you_mean_finds_near_misses_only() {
        let words = ["description", "privileges", "dashboards"];
        assert_eq!(did_you_mean("descripton", words), Some("description"));
        assert_eq!(did_you_mean("Privilges", words), Some("privileges"));
        assert_eq!(did_you_mean("owner", words), None);
    }
}
