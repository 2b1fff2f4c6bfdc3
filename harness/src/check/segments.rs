//! The file-transfer check: a byte stream is a whole number of 260-byte
//! segments (`{ int len; char buf[256]; }`, `len` in host order) whose data,
//! put together, is the expected file.
//!
//! Segments are decoded with the reference crate's wire type
//! ([`Segment`], [`SegmentReassembler`]), the same code the reference
//! programs speak.

use socklab_reference::transcript::escape_bytes;
use socklab_reference::wire::ByteOrder;
use socklab_reference::wire::filetransfer::{
    DATA_SIZE, LEN_SIZE, SEGMENT_SIZE, SegmentError, SegmentReassembler,
};

use super::difference::{cut_at_nul, describe_difference};
use super::{Judgement, tail};

/// Whether `got` is well-formed segments carrying `want` (the bytes of
/// fixture `fixture`).
pub fn carry(want: &[u8], got: &[u8], fixture: &str) -> Judgement {
    let whole = got.len() / SEGMENT_SIZE;
    let expected = format!(
        "{} segments of {SEGMENT_SIZE} bytes carrying the {} bytes of fixture `{fixture}`",
        want.len().div_ceil(DATA_SIZE),
        want.len()
    );
    let mut reassembler = SegmentReassembler::new(ByteOrder::Host);
    let segments = reassembler.feed(got);
    if let Err(SegmentError::Truncated { got: trailing }) = reassembler.finish() {
        return Judgement::fail(format!(
            "{} bytes is not a whole number of {SEGMENT_SIZE}-byte segments ({whole} whole, {trailing} bytes left over)",
            got.len()
        ))
        .expected(expected)
        .observed(format!(
            "first bytes: {}",
            tail(&escape_bytes(&got[..got.len().min(64)]), 200)
        ));
    }
    let mut content = Vec::with_capacity(want.len());
    for (i, segment) in segments.iter().enumerate() {
        match segment.data() {
            Ok(data) => content.extend_from_slice(data),
            Err(_) => {
                let header = &segment.encode(ByteOrder::Host)[..LEN_SIZE];
                let failed_read = if segment.len == -1 {
                    " (-1 is what read() returns when it fails: was the file opened?)"
                } else {
                    ""
                };
                return Judgement::fail(format!(
                    "segment {i} has len {}, outside 0..={DATA_SIZE}{failed_read}",
                    segment.len
                ))
                .expected(expected)
                .observed(format!("segment {i} header: {}", escape_bytes(header)));
            }
        }
    }
    if content == want {
        return Judgement::pass(format!("{whole} well-formed segments carrying the fixture"));
    }
    let judgement = Judgement::fail(format!(
        "the {whole} segments do not carry the fixture's bytes"
    ))
    .expected(expected)
    .observed(describe_difference(want, &content));
    match cut_at_nul(want, &content) {
        Some(why) => {
            let mut judgement = judgement.hint(why);
            judgement
                .message
                .push_str(": their data is cut at NUL bytes");
            judgement
        }
        None => judgement,
    }
}

#[cfg(test)]
mod tests {
    use socklab_reference::wire::filetransfer::{Segment, encode_file};

    use super::*;

    #[test]
    fn a_server_that_copies_with_string_functions_is_told_so() {
        let file: Vec<u8> = (0..600u32).map(|i| (i % 7) as u8).collect();
        // strncpy: each chunk zero from its first NUL on, len kept.
        let zeroed: Vec<u8> = file
            .chunks(256)
            .flat_map(|c| {
                let end = c.iter().position(|b| *b == 0).unwrap_or(c.len());
                let mut kept = c[..end].to_vec();
                kept.resize(c.len(), 0);
                kept
            })
            .collect();
        let j = carry(&file, &encode_file(&zeroed, ByteOrder::Host), "f");
        assert_eq!(
            j.message,
            "the 3 segments do not carry the fixture's bytes: their data is cut at NUL bytes"
        );
        assert!(j.hint.unwrap().contains("strncpy"));
        // A random file without a NUL inside a chunk says nothing of the kind.
        let plain: Vec<u8> = vec![7u8; 600];
        let wrong = encode_file(&[8u8; 600], ByteOrder::Host);
        assert!(carry(&plain, &wrong, "f").hint.is_none());
    }

    #[test]
    fn the_reference_encoding_carries_the_file() {
        let file: Vec<u8> = (0..600u32).map(|i| i as u8).collect();
        let j = carry(&file, &encode_file(&file, ByteOrder::Host), "f");
        assert!(j.passed(), "{j:?}");
        assert_eq!(j.message, "3 well-formed segments carrying the fixture");
    }

    #[test]
    fn a_stream_cut_inside_a_segment_is_named_with_its_leftover() {
        let file = vec![7u8; 300];
        let mut stream = encode_file(&file, ByteOrder::Host);
        stream.truncate(300);
        let j = carry(&file, &stream, "f");
        assert_eq!(
            j.message,
            "300 bytes is not a whole number of 260-byte segments (1 whole, 40 bytes left over)"
        );
        assert_eq!(
            j.expected.as_deref(),
            Some("2 segments of 260 bytes carrying the 300 bytes of fixture `f`")
        );
        assert!(j.observed.unwrap().starts_with("first bytes: "));
    }

    #[test]
    fn a_length_outside_the_buffer_is_shown_with_its_header() {
        let mut bad = Segment::with_data(b"abc").unwrap();
        bad.len = -1;
        let j = carry(b"abc", &bad.encode(ByteOrder::Host), "f");
        assert_eq!(
            j.message,
            "segment 0 has len -1, outside 0..=256 (-1 is what read() returns when it fails: was the file opened?)"
        );
        assert_eq!(
            j.observed.as_deref(),
            Some("segment 0 header: \\xff\\xff\\xff\\xff")
        );
    }

    #[test]
    fn segments_padded_to_full_buffers_do_not_carry_the_file() {
        let file = vec![1u8; 300];
        let mut stream = Vec::new();
        for chunk in [&file[..256], &file[256..]] {
            // A server that sends len = 256 for the short last chunk too.
            let mut segment = Segment::with_data(chunk).unwrap();
            segment.len = 256;
            stream.extend_from_slice(&segment.encode(ByteOrder::Host));
        }
        let j = carry(&file, &stream, "f");
        assert_eq!(j.message, "the 2 segments do not carry the fixture's bytes");
        assert!(
            j.observed
                .unwrap()
                .contains("padded to whole 256-byte buffers")
        );
    }
}
