//! The API key out of anything a server sends back: a careless proxy may
//! echo the auth header in an error body, whole, lower-cased, or cut short.
//! Bodies are redacted as they arrive, before any of their text is cut to
//! a message's length (cut first, a key at the cut would leak its start).

use std::collections::HashSet;

/// What replaces a secret.
pub(crate) const REDACTED: &str = "<redacted>";

/// A run of this many characters of a secret (or more), in any case, is
/// redacted wherever it appears.
pub(crate) const RUN: usize = 8;

/// The secrets to find, as windows of [`RUN`] lower-case bytes, and the
/// short ones whole.
#[derive(Debug, Default)]
pub(crate) struct Redactor {
    windows: HashSet<[u8; RUN]>,
    /// Secrets shorter than a run: redacted whole, in any case.
    short: Vec<Vec<u8>>,
}

fn lower(bytes: &[u8]) -> [u8; RUN] {
    let mut out = [0; RUN];
    for (o, b) in out.iter_mut().zip(bytes) {
        *o = b.to_ascii_lowercase();
    }
    out
}

impl Redactor {
    pub(crate) fn new<'a>(secrets: impl IntoIterator<Item = &'a str>) -> Self {
        let mut redactor = Redactor::default();
        for secret in secrets {
            let bytes = secret.as_bytes();
            if bytes.is_empty() {
                continue;
            }
            if bytes.len() < RUN {
                redactor.short.push(bytes.to_ascii_lowercase());
                continue;
            }
            for window in bytes.windows(RUN) {
                redactor.windows.insert(lower(window));
            }
        }
        redactor
    }

    /// `text` with every run of 8 or more characters of a secret (and every
    /// short secret) replaced, in any case.
    pub(crate) fn bytes(&self, text: &[u8]) -> Vec<u8> {
        let mut ranges: Vec<(usize, usize)> = Vec::new();
        if !self.windows.is_empty() && text.len() >= RUN {
            let mut i = 0;
            while i + RUN <= text.len() {
                if !self.windows.contains(&lower(&text[i..i + RUN])) {
                    i += 1;
                    continue;
                }
                let mut end = i + RUN;
                while end < text.len() && self.windows.contains(&lower(&text[end + 1 - RUN..=end]))
                {
                    end += 1;
                }
                ranges.push((i, end));
                i = end;
            }
        }
        for short in &self.short {
            let lowered = text.to_ascii_lowercase();
            let mut from = 0;
            while let Some(at) = find(&lowered[from..], short) {
                ranges.push((from + at, from + at + short.len()));
                from += at + short.len();
            }
        }
        if ranges.is_empty() {
            return text.to_vec();
        }
        ranges.sort_unstable();
        let mut out = Vec::with_capacity(text.len());
        let mut at = 0;
        for (start, end) in ranges {
            if end <= at {
                continue;
            }
            out.extend_from_slice(&text[at..start.max(at)]);
            if start >= at {
                out.extend_from_slice(REDACTED.as_bytes());
            }
            at = end;
        }
        out.extend_from_slice(&text[at..]);
        out
    }

    pub(crate) fn text(&self, text: &str) -> String {
        String::from_utf8_lossy(&self.bytes(text.as_bytes())).into_owned()
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "Sk-live-0123456789abcdefXYZ";

    #[test]
    fn a_key_is_redacted_whole_in_any_case() {
        let r = Redactor::new([KEY]);
        let echo = format!("bad auth header acme:{KEY} and {}", KEY.to_lowercase());
        let out = r.text(&echo);
        assert_eq!(out, "bad auth header acme:<redacted> and <redacted>");
    }

    #[test]
    fn a_run_of_eight_characters_of_the_key_is_redacted() {
        let r = Redactor::new([KEY]);
        // An echo cut short (by a proxy, or a 200-character message).
        let cut = format!("... header was acme:{}", &KEY[..18]);
        assert_eq!(r.text(&cut), "... header was acme:<redacted>");
        let middle = format!("x{}y", &KEY[5..13]);
        assert_eq!(r.text(&middle), "x<redacted>y");
        // Seven characters are not enough to say.
        let seven = format!("x{}y", &KEY[5..12]);
        assert_eq!(r.text(&seven), seven);
    }

    #[test]
    fn a_short_key_is_redacted_whole_only() {
        let r = Redactor::new(["abc123"]);
        assert_eq!(r.text("key ABC123 and abc12"), "key <redacted> and abc12");
    }

    #[test]
    fn text_without_a_secret_is_unchanged() {
        let r = Redactor::new([KEY, ""]);
        let text = "{\"error\": \"no such user\"} ünïcode";
        assert_eq!(r.text(text), text);
    }
}
