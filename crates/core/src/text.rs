//! Text from outside (the live site, a config, a server) made safe to show:
//! control characters, and the bidirectional overrides that reorder what a
//! reader sees, are written as escapes; very long text is cut.

use std::borrow::Cow;

/// Whether a character must not reach a terminal or a document as is: C0
/// and C1 controls, DEL, bidirectional overrides and isolates, and the
/// characters that show as nothing ([`is_invisible`]). Tab and line breaks
/// are controls too: in a name they are never meant.
pub fn is_unsafe(c: char) -> bool {
    // The invisible ones take in the direction marks, overrides and isolates.
    c.is_control() || is_invisible(c)
}

/// Characters that show as nothing: zero-width spaces and joiners, the soft
/// hyphen, word joiners, direction marks, variation selectors, fillers, the
/// braille blank, tag characters, the byte-order mark. In a name they make another name that looks the same.
pub fn is_invisible(c: char) -> bool {
    matches!(c, '\u{ad}' | '\u{34f}' | '\u{61c}' | '\u{115f}' | '\u{1160}' | '\u{17b4}' | '\u{17b5}' | '\u{180b}'..='\u{180f}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{206f}' | '\u{2800}' | '\u{3164}' | '\u{fe00}'..='\u{fe0f}' | '\u{feff}' | '\u{ffa0}' | '\u{e0000}'..='\u{e007f}')
}

/// `s` with every unsafe character as an escape (`\n`, `\u{1b}`).
pub fn clean(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_unsafe(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// A name as a report shows it inside a code span: [`clean`], and no
/// backtick (it would end the span in markdown).
pub fn code_text(s: &str) -> String {
    clean(s).replace('`', "'")
}

/// A file's path as it may be shown: [`clean`], so that a name with a line
/// break or a bidirectional override writes no lines of its own.
pub fn path(p: &std::path::Path) -> String {
    clean(&p.display().to_string()).into_owned()
}

/// `s` cut to at most `max` characters, with `…` where it was cut.
pub fn clip(s: &str, max: usize) -> Cow<'_, str> {
    if s.chars().count() <= max {
        return Cow::Borrowed(s);
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    Cow::Owned(out)
}

/// [`clean`], for several lines: line breaks are kept, everything else
/// unsafe is escaped.
pub fn clean_lines(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| c != '\n' && is_unsafe(c)) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.split('\n')
            .map(|l| clean(l).into_owned())
            .collect::<Vec<_>>()
            .join("\n"),
    )
}

/// A CSV cell a spreadsheet will not run: text starting with `=`, `+`,
/// `-`, `@`, a tab or a carriage return is a formula to Excel, LibreOffice
/// and Sheets (`=HYPERLINK(…)` in a dashboard name sends data away on a
/// click), so it gets a leading `'`, as OWASP advises. The cell is also
/// [`clean`]ed.
pub fn spreadsheet_cell(s: &str) -> Cow<'_, str> {
    let formula = ['=', '+', '-', '@', '\t', '\r'];
    let cleaned = clean(s);
    if s.starts_with(formula) || cleaned.starts_with(formula) {
        Cow::Owned(format!("'{cleaned}"))
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_characters_become_escapes() {
        assert_eq!(clean("jane@acme.com"), "jane@acme.com");
        assert_eq!(
            clean("a\nb\r\x1b[2J\u{202e}"),
            "a\\nb\\r\\u{1b}[2J\\u{202e}"
        );
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clean_lines("one\ntw\x07o"), "one\ntw\\u{7}o");
    }

    #[test]
    fn formulas_are_not_formulas_in_a_spreadsheet() {
        for formula in [
            "=HYPERLINK(\"http://x\",\"y\")",
            "+1",
            "-1+2",
            "@SUM(A1)",
            "\tx",
            "\rx",
        ] {
            let cell = spreadsheet_cell(formula);
            assert!(cell.starts_with('\''), "{formula:?} -> {cell:?}");
        }
        assert_eq!(spreadsheet_cell("Revenue = Sales"), "Revenue = Sales");
        assert_eq!(spreadsheet_cell("jane@acme.com"), "jane@acme.com");
    }
}
