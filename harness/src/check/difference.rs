//! How two byte strings differ, in words a student can act on: sizes,
//! digests, the first differing offset, and the shapes of common mistakes
//! (a copy padded to whole 256-byte buffers, a missing last chunk).

use sha2::{Digest, Sha256};

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
    let common = expected.len().min(actual.len());
    match (0..common).find(|&i| expected[i] != actual[i]) {
        Some(i) => parts.push(format!(
            "first difference at offset {i} (expected byte 0x{:02x}, got 0x{:02x})",
            expected[i], actual[i]
        )),
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

#[cfg(test)]
mod tests {
    use super::*;

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
