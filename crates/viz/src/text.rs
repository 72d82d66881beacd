//! Small text helpers shared by the renderers: deterministic number formatting, XML escaping,
//! compact JSON, truncation.

use serde_json::Value;
use std::fmt;

/// A coordinate with one decimal, without a trailing `.0`: `12`, `12.5`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fmt(pub(crate) f64);

impl fmt::Display for Fmt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tenths = (self.0 * 10.0).round() as i64;
        let (whole, frac) = (tenths / 10, (tenths % 10).abs());
        let sign = if tenths < 0 && whole == 0 { "-" } else { "" };
        if frac == 0 { write!(f, "{sign}{whole}") } else { write!(f, "{sign}{whole}.{frac}") }
    }
}

/// Escapes text for XML/HTML content and attribute values.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One-line JSON.
pub(crate) fn compact(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        v => v.to_string(),
    }
}

/// At most `max` characters, with `…` when cut.
pub(crate) fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_short_and_stable() {
        assert_eq!(Fmt(12.0).to_string(), "12");
        assert_eq!(Fmt(12.46).to_string(), "12.5");
        assert_eq!(Fmt(-0.5).to_string(), "-0.5");
        assert_eq!(Fmt(-3.25).to_string(), "-3.3");
    }

    #[test]
    fn escaping_and_truncation() {
        assert_eq!(escape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
    }
}
