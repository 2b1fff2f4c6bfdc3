//! How two byte strings differ, in words a student can act on: sizes,
//! digests, the first differing offset, and the shapes of common mistakes
//! (a copy padded to whole 256-byte buffers, a missing last chunk).

use sha2::{Digest, Sha256};

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
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
