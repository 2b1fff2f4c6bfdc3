//! Long texts kept readable, and reports kept small.
//!
//! A correct file transfer of 1 MiB, rendered as escaped bytes, is megabytes
//! of transcript; a program that prints without end is more. Students read
//! none of it, Gradescope's `results.json` is no place for it, and a class
//! of 200 would write gigabytes. So every report but `report.json` shows an
//! **excerpt**: the whole text when it is short, else its head and its tail
//! with what was left out between them in words, and the whole's size and
//! SHA-256 (which a student can compare with `sha256sum` of their own
//! output). `report.json` also keeps the whole text of a transcript up to
//! [`WHOLE_TEXT_LIMIT`], and of all of a submission's transcripts together
//! up to [`REPORT_WHOLE_LIMIT`] (the shortest first, so that as many stay
//! whole as fit).

use std::fmt::Write as _;

use sha2::{Digest, Sha256};

/// Bytes of a long text shown from its start.
pub const HEAD: usize = 1024;
/// Bytes of a long text shown from its end.
pub const TAIL: usize = 512;
/// Checks' fields (what was sent, expected, seen) are cut to this many
/// bytes of head and of tail.
pub const FIELD_HEAD: usize = 1536;
/// See [`FIELD_HEAD`].
pub const FIELD_TAIL: usize = 512;
/// The longest whole transcript `report.json` keeps.
pub const WHOLE_TEXT_LIMIT: usize = 16 * 1024;
/// The most whole-transcript text one `report.json` keeps in all.
pub const REPORT_WHOLE_LIMIT: usize = 96 * 1024;

/// `text` itself when it has at most `head + tail` bytes (plus the length
/// of the note that would replace the middle), else its first `head` and
/// last `tail` bytes (at character boundaries) around a line saying how
/// many bytes were left out.
pub fn excerpt(text: &str, head: usize, tail: usize) -> String {
    const ROOM_FOR_THE_NOTE: usize = 64;
    if text.len() <= head + tail + ROOM_FOR_THE_NOTE {
        return text.to_string();
    }
    let mut head_end = head;
    while !text.is_char_boundary(head_end) {
        head_end -= 1;
    }
    let mut tail_start = text.len() - tail;
    while !text.is_char_boundary(tail_start) {
        tail_start += 1;
    }
    let mut out = String::with_capacity(head + tail + ROOM_FOR_THE_NOTE);
    out.push_str(&text[..head_end]);
    let _ = write!(out, "\n… {} bytes left out …\n", tail_start - head_end);
    out.push_str(&text[tail_start..]);
    out
}

/// The SHA-256 of `bytes`, in hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut hex = String::with_capacity(64);
    for byte in digest {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_text_is_kept_whole_and_a_long_one_cut_in_the_middle() {
        assert_eq!(excerpt("short", 4, 4), "short");
        let long = format!("{}{}{}", "a".repeat(100), "b".repeat(1000), "c".repeat(100));
        let cut = excerpt(&long, 100, 100);
        assert!(cut.starts_with(&"a".repeat(100)));
        assert!(cut.ends_with(&"c".repeat(100)));
        assert!(cut.contains("\n… 1000 bytes left out …\n"), "{cut}");
        // Never inside a character.
        let wide = "é".repeat(500);
        let cut = excerpt(&wide, 101, 101);
        assert!(cut.starts_with(&"é".repeat(50)));
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
