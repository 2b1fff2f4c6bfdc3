//! How payload bytes are shown to a person: as text when they are text
//! (`New number generated: 17`), as hex when they are binary
//! (`00 00 00 00`). Checks, judgments and ladders all show bytes this way.

/// Whether the bytes read as text: printable ASCII, tabs and line ends.
pub fn is_text(bytes: &[u8]) -> bool {
    !bytes.is_empty()
        && bytes
            .iter()
            .all(|b| b.is_ascii_graphic() || matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
}

/// The first bytes of a payload, at most `max_chars` characters long:
/// quoted text with `\r`/`\n`/`\t` escaped, or hex pairs. `…` marks bytes
/// left out; `len` is the payload's length on the wire (more than
/// `bytes.len()` when the capture kept only part of it).
pub fn preview(bytes: &[u8], len: u32, max_chars: usize) -> String {
    if bytes.is_empty() {
        return if len > 0 {
            "(payload not captured)".to_string()
        } else {
            String::new()
        };
    }
    let more = (bytes.len() as u32) < len;
    if is_text(bytes) {
        let mut out = String::from("\"");
        let mut cut = more;
        for (i, b) in bytes.iter().enumerate() {
            let piece = match b {
                b'\r' => "\\r".to_string(),
                b'\n' => "\\n".to_string(),
                b'\t' => "\\t".to_string(),
                b'"' => "\\\"".to_string(),
                other => (*other as char).to_string(),
            };
            if out.len() + piece.len() + 1 > max_chars && i < bytes.len() {
                cut = true;
                break;
            }
            out.push_str(&piece);
        }
        out.push('"');
        if cut {
            out.push('…');
        }
        out
    } else {
        let mut out = String::new();
        let mut cut = more;
        for (i, b) in bytes.iter().enumerate() {
            let extra = if out.is_empty() { 2 } else { 3 };
            if out.len() + extra > max_chars {
                cut = true;
                break;
            }
            if i > 0 {
                out.push(' ');
            }
            out.push_str(&format!("{b:02x}"));
        }
        if cut {
            out.push_str(" …");
        }
        out
    }
}

/// `1 byte` or `N bytes`.
pub fn bytes(n: u64) -> String {
    if n == 1 {
        "1 byte".to_string()
    } else {
        format!("{n} bytes")
    }
}

/// A size for a person: `64 KiB`, `8 MiB`, `300 bytes`.
pub fn size(n: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * 1024;
    if n >= MIB && n.is_multiple_of(MIB) {
        format!("{} MiB", n / MIB)
    } else if n >= KIB && n.is_multiple_of(KIB) {
        format!("{} KiB", n / KIB)
    } else {
        bytes(n)
    }
}

/// The plural of a noun of the reports (`reply` → `replies`, `command` → `commands`).
pub fn plural(noun: &str) -> String {
    match noun.strip_suffix('y') {
        Some(stem) if !stem.ends_with(['a', 'e', 'o', 'u']) => format!("{stem}ies"),
        _ => format!("{noun}s"),
    }
}

/// `1 connection`, `3 connections`.
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {}", plural(noun))
    }
}

/// Seconds with microseconds, as Wireshark's time column: `10.319046`.
pub fn seconds(d: std::time::Duration) -> String {
    format!("{:.6}", d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_binary() {
        assert_eq!(
            preview(b"New number generated: 17", 24, 40),
            "\"New number generated: 17\""
        );
        assert_eq!(preview(&[0, 0, 0, 0], 4, 40), "00 00 00 00");
        assert_eq!(preview(b"0\n", 2, 40), "\"0\\n\"");
        assert_eq!(preview(b"abcdefghij", 10, 6), "\"abcd\"…");
        assert_eq!(preview(&[1, 2, 3, 4, 5, 6], 6, 8), "01 02 03 …");
        assert_eq!(preview(b"abc", 10, 40), "\"abc\"…");
        assert_eq!(preview(b"", 10, 40), "(payload not captured)");
        assert_eq!(preview(b"a\0", 2, 40), "61 00");
    }
}
