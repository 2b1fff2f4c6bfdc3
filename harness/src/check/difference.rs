//! How two byte strings differ, in words a student can act on: sizes,
//! digests, the first differing offset, and the shapes of common mistakes
//! (a copy padded to whole 256-byte buffers, a missing last chunk).

use sha2::{Digest, Sha256};
use socklab_reference::transcript::escape_bytes;

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Why the bytes of a file transfer were lost, when the copy shows it: each
/// 256-byte chunk of `expected` came out cut at its first NUL byte, either
/// dropped after it (a length from `strlen`, output through `fputs` or
/// `%s`) or zeroed after it (a copy with `strncpy`). `None` when the copy
/// does not look like that, or `expected` has no NUL inside a chunk.
pub fn cut_at_nul(expected: &[u8], actual: &[u8]) -> Option<String> {
    const CHUNK: usize = 256;
    let nul_inside = expected.chunks(CHUNK).any(|c| {
        c.iter()
            .position(|b| *b == 0)
            .is_some_and(|i| c[i..].iter().any(|b| *b != 0))
    });
    if !nul_inside {
        return None;
    }
    let dropped: Vec<u8> = expected
        .chunks(CHUNK)
        .flat_map(|c| c[..c.iter().position(|b| *b == 0).unwrap_or(c.len())].to_vec())
        .collect();
    let zeroed: Vec<u8> = expected
        .chunks(CHUNK)
        .flat_map(|c| {
            let end = c.iter().position(|b| *b == 0).unwrap_or(c.len());
            let mut kept = c[..end].to_vec();
            kept.resize(c.len(), 0);
            kept
        })
        .collect();
    if actual == dropped.as_slice() {
        Some("every 256-byte chunk stops at its first NUL byte: the data went through a string function (strlen() as the length, strcpy/strncpy, fputs or printf(\"%s\")), which ends at a NUL. File data is bytes, not a string: use read()'s count and memcpy()/write().".to_string())
    } else if actual == zeroed.as_slice() {
        Some("every 256-byte chunk is zeros from its first NUL byte on: it was copied with strncpy(), which stops at a NUL and pads with zeros. File data is bytes, not a string: copy it with memcpy() (or read() straight into the segment) and use read()'s count.".to_string())
    } else {
        None
    }
}

/// Explains how `actual` differs from `expected`, for a student.
pub fn describe_difference(expected: &[u8], actual: &[u8]) -> String {
    let mut parts = vec![format!(
        "expected {} bytes (sha256 {}…), got {} bytes (sha256 {}…)",
        expected.len(),
        &sha256_hex(expected)[..12],
        actual.len(),
        &sha256_hex(actual)[..12]
    )];
    if let Some(added) = added_to_every_line(expected, actual) {
        parts.push(added.describe());
        return parts.join("; ");
    }
    let common = expected.len().min(actual.len());
    match (0..common).find(|&i| expected[i] != actual[i]) {
        Some(i) => parts.push(match (text_at(expected, i), text_at(actual, i)) {
            (Some(want), Some(got)) => {
                format!("first difference at offset {i}: expected {want}, got {got}")
            }
            _ => format!(
                "first difference at offset {i} (expected byte 0x{:02x}, got 0x{:02x})",
                expected[i], actual[i]
            ),
        }),
        None if actual.len() > expected.len() => {
            parts.push(format!(
                "the file starts with the right {} bytes, then has {} extra",
                expected.len(),
                actual.len() - expected.len()
            ));
            if actual.len().is_multiple_of(256) && !expected.len().is_multiple_of(256) {
                parts.push(
                    "its size is a multiple of 256: it looks padded to whole 256-byte buffers"
                        .to_string(),
                );
            }
        }
        None if actual.len() < expected.len() => {
            let missing = expected.len() - actual.len();
            parts.push(format!(
                "it stops {missing} bytes early (a prefix of the expected file)"
            ));
            if actual.len().is_multiple_of(256) && missing < 256 {
                parts.push("the last, partial 256-byte chunk is missing".to_string());
            }
        }
        None => {}
    }
    parts.join("; ")
}

/// Up to [`SHOWN`] bytes of `data` from `at`, quoted and escaped, when
/// they are text (printable ASCII, tabs and line ends); `None` for binary
/// data, which reads better as byte values.
fn text_at(data: &[u8], at: usize) -> Option<String> {
    const SHOWN: usize = 24;
    let window = &data[at..(at + SHOWN).min(data.len())];
    is_text(window).then(|| {
        let more = if at + SHOWN < data.len() { "…" } else { "" };
        format!("\"{}\"{more}", escape_bytes(window))
    })
}

/// Printable ASCII, tabs and line ends only.
fn is_text(data: &[u8]) -> bool {
    data.iter()
        .all(|b| b.is_ascii_graphic() || b" \t\r\n".contains(b))
}

/// Text a program adds to every line it prints, the lines otherwise
/// exactly as expected (`Echo from Server: ` in front of each echoed line).
#[derive(Debug, PartialEq, Eq)]
pub struct AddedToLines {
    pub before: Vec<u8>,
    pub after: Vec<u8>,
}

impl AddedToLines {
    /// "every line has "Echo from Server: " added in front of it".
    pub fn describe(&self) -> String {
        let quoted = |b: &[u8]| format!("\"{}\"", escape_bytes(b));
        match (self.before.is_empty(), self.after.is_empty()) {
            (false, true) => format!(
                "every line is right but has {} added in front of it",
                quoted(&self.before)
            ),
            (true, false) => format!(
                "every line is right but has {} added at its end",
                quoted(&self.after)
            ),
            _ => format!(
                "every line is right but has {} added in front of it and {} at its end",
                quoted(&self.before),
                quoted(&self.after)
            ),
        }
    }
}

/// The hint for a program that adds text to what it prints.
pub const ADDED_TO_LINES_HINT: &str =
    "Print each reply exactly as it came back, with nothing added before or after it.";

/// When every line of `actual` is the line of `expected` with the same
/// text added before it and/or after it (before its line end), and
/// nothing else differs: that text. Text only: binary data has no lines.
pub fn added_to_every_line(expected: &[u8], actual: &[u8]) -> Option<AddedToLines> {
    if !is_text(expected) || !is_text(actual) {
        return None;
    }
    let lines = |data: &[u8]| -> Vec<(Vec<u8>, bool)> {
        data.split_inclusive(|b| *b == b'\n')
            .map(|line| match line.strip_suffix(b"\n") {
                Some(body) => (body.to_vec(), true),
                None => (line.to_vec(), false),
            })
            .collect()
    };
    let (want, got) = (lines(expected), lines(actual));
    if want.is_empty() || want.len() != got.len() {
        return None;
    }
    let (first_want, first_got) = (&want[0].0, &got[0].0);
    if first_got.len() <= first_want.len() {
        return None;
    }
    let split = (0..=first_got.len() - first_want.len())
        .find(|&at| first_got[at..at + first_want.len()] == first_want[..])?;
    let added = AddedToLines {
        before: first_got[..split].to_vec(),
        after: first_got[split + first_want.len()..].to_vec(),
    };
    let consistent = want.iter().zip(&got).all(|((w, w_end), (g, g_end))| {
        w_end == g_end
            && g.len() == added.before.len() + w.len() + added.after.len()
            && g.starts_with(&added.before)
            && g.ends_with(&added.after)
            && g[added.before.len()..g.len() - added.after.len()] == w[..]
    });
    consistent.then_some(added)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_added_to_every_line_is_named() {
        let want = b"para one\npara two\n";
        let got = b"Echo from Server: para one\nEcho from Server: para two\n";
        let added = added_to_every_line(want, got).expect("found");
        assert_eq!(added.before, b"Echo from Server: ");
        assert!(added.after.is_empty());
        assert_eq!(
            describe_difference(want, got),
            "expected 18 bytes (sha256 \
             "
            .to_string()
                + &sha256_hex(want)[..12]
                + "…), got 54 bytes (sha256 "
                + &sha256_hex(got)[..12]
                + "…); every line is right but has \"Echo from Server: \" added in front of it"
        );
        let after = added_to_every_line(b"a\nb\n", b"a [ok]\nb [ok]\n").expect("found");
        assert_eq!(after.after, b" [ok]");
        // Not the same text on every line, a line changed, or lines lost:
        // no such explanation.
        assert!(added_to_every_line(want, b"> para one\n< para two\n").is_none());
        assert!(added_to_every_line(want, b"> para one\n> para 2\n").is_none());
        assert!(added_to_every_line(want, b"> para one\n").is_none());
        assert!(added_to_every_line(want, want).is_none());
    }

    #[test]
    fn a_text_difference_is_quoted_a_binary_one_in_bytes() {
        let text = describe_difference(b"hello world\n", b"hello World\n");
        assert!(
            text.ends_with("first difference at offset 6: expected \"world\\n\", got \"World\\n\""),
            "{text}"
        );
        let binary = describe_difference(&[0, 1, 2, 3], &[0, 1, 9, 3]);
        assert!(
            binary.ends_with("first difference at offset 2 (expected byte 0x02, got 0x09)"),
            "{binary}"
        );
    }

    #[test]
    fn differences_are_explained() {
        let expected = vec![1u8; 300];
        let mut padded = expected.clone();
        padded.resize(512, 0);
        let text = describe_difference(&expected, &padded);
        assert!(text.contains("padded to whole 256-byte buffers"), "{text}");
        let text = describe_difference(&expected, &expected[..256]);
        assert!(
            text.contains("last, partial 256-byte chunk is missing"),
            "{text}"
        );
        let mut changed = expected.clone();
        changed[10] = 9;
        assert!(describe_difference(&expected, &changed).contains("offset 10"));
    }
}
