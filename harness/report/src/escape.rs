//! Escaping text for each output medium.
//!
//! The runner already escapes bytes it captured from student programs
//! (`\x00`, `\r`, trailing spaces made visible), so the reporters keep its
//! strings as they are and never trim them. What they still guard against is
//! a raw control character that slipped through (a hostile submission name, a
//! runner bug): in a terminal it could rewrite the screen, in XML it is not
//! allowed at all, in HTML it is a parse error. Every reporter passes text
//! through [`visible_controls`] (or a function built on it) first.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Replaces control characters other than newline and tab with a visible
/// escape (`\x00`, `\x1b`, `\r`, `\u{85}`), and the XML non-characters
/// U+FFFE/U+FFFF likewise. Everything else, whitespace included, is kept.
pub fn visible_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if !needs_escape(c) {
            out.push(c);
        } else if c == '\r' {
            out.push_str("\\r");
        } else if (c as u32) < 0x80 {
            let _ = write!(out, "\\x{:02x}", c as u32);
        } else {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t') || c == '\u{fffe}' || c == '\u{ffff}'
}

/// Text for HTML element content and attribute values: `& < > " '` become
/// character references, control characters become visible escapes.
pub fn html_escape(text: &str) -> String {
    let text = visible_controls(text);
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// The text collapsed to one line (newlines and tabs as `\n`/`\t`), for
/// places that cannot hold a line break: table cells, XML attributes,
/// one-line summaries.
pub fn one_line(text: &str) -> String {
    visible_controls(text)
        .replace('\n', "\\n")
        .replace('\t', "\\t")
}

/// Prose collapsed to one line for a reader, not a parser: each line break
/// (with the spaces around it) becomes one space, so a wrapped YAML
/// description or a multi-line message reads as a sentence instead of
/// showing `\n`. Exact bytes (sent, expected, seen) never go through this:
/// they keep their escapes in code blocks.
pub fn prose_line(text: &str) -> String {
    let text = visible_controls(text);
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.trim().split('\n').enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if i > 0 && !out.is_empty() {
            out.push(' ');
        }
        out.push_str(line);
    }
    out.replace('\t', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_become_visible() {
        assert_eq!(
            visible_controls("a\0b\x1b[31mc\r\n\td"),
            "a\\x00b\\x1b[31mc\\r\n\td"
        );
        assert_eq!(visible_controls("\u{85}\u{ffff}"), "\\u{85}\\u{ffff}");
        assert!(matches!(
            visible_controls("plain  "),
            Cow::Borrowed("plain  ")
        ));
    }

    #[test]
    fn html_escape_neutralises_markup() {
        assert_eq!(
            html_escape("</pre><script>alert('x\"&')</script>\0"),
            "&lt;/pre&gt;&lt;script&gt;alert(&#39;x&quot;&amp;&#39;)&lt;/script&gt;\\x00"
        );
    }

    #[test]
    fn one_line_keeps_content() {
        assert_eq!(one_line("a\nb\tc "), "a\\nb\\tc ");
    }

    #[test]
    fn prose_line_reads_as_a_sentence() {
        assert_eq!(
            prose_line("The server sends\n  the time.\n\n"),
            "The server sends the time."
        );
        assert_eq!(prose_line("a\tb\x1b"), "a b\\x1b");
    }
}
