//! The classic libpcap format: a 24-byte file header, then records of a
//! 16-byte header and the frame's bytes.
//!
//! The magic number says the byte order of the writer and whether record
//! timestamps are in microseconds (`a1b2c3d4`) or nanoseconds (`a1b23c4d`).
//! One link type for the whole file.

use crate::error::{FIX_CORRUPT, FIX_NOT_A_CAPTURE, FormatError};
use crate::file::{CaptureFile, Cursor, FileFormat, Frame, Interface, Timestamp};
use crate::link::LinkType;

const MAGIC_MICROS: u32 = 0xa1b2_c3d4;
const MAGIC_NANOS: u32 = 0xa1b2_3c4d;
const FILE_HEADER_LEN: usize = 24;
const RECORD_HEADER_LEN: usize = 16;
/// Larger than any frame a real capture holds (Wireshark's own limit).
pub(crate) const MAX_FRAME_LEN: u32 = 262_144;

/// Whether these four bytes open a pcap file, in either byte order.
pub fn is_pcap_magic(magic: [u8; 4]) -> bool {
    let le = u32::from_le_bytes(magic);
    let be = u32::from_be_bytes(magic);
    [le, be]
        .iter()
        .any(|m| *m == MAGIC_MICROS || *m == MAGIC_NANOS)
}

/// Parse a whole pcap file.
pub fn parse(bytes: &[u8]) -> Result<CaptureFile, FormatError> {
    let magic = u32::from_le_bytes(bytes[..4].try_into().expect("caller checked 4 bytes"));
    let (big_endian, nanos) = match magic {
        MAGIC_MICROS => (false, false),
        MAGIC_NANOS => (false, true),
        m if m.swap_bytes() == MAGIC_MICROS => (true, false),
        m if m.swap_bytes() == MAGIC_NANOS => (true, true),
        _ => {
            return Err(FormatError::new(
                0,
                "the pcap magic number",
                "a1 b2 c3 d4 or a1 b2 3c 4d in either byte order",
                crate::file::describe_bytes(&bytes[..4]),
                FIX_NOT_A_CAPTURE,
            ));
        }
    };
    let cursor = Cursor { bytes, big_endian };
    let header = cursor.take(0, FILE_HEADER_LEN, "the pcap file header")?;
    let major = cursor.u16_at(header, 4);
    if major != 2 {
        return Err(FormatError::new(
            4,
            "the pcap file header's version",
            "version 2.x",
            format!("version {major}.{}", cursor.u16_at(header, 6)),
            FIX_CORRUPT,
        ));
    }
    // The low 16 bits are the link type; higher bits may carry FCS information.
    let link = LinkType::from_code((cursor.u32_at(header, 20) & 0xffff) as u16);
    let mut frames = Vec::new();
    let mut at = FILE_HEADER_LEN;
    while at < bytes.len() {
        let number = frames.len() + 1;
        let structure = format!("the header of packet record {number}");
        let record = cursor.take(at, RECORD_HEADER_LEN, &structure)?;
        let seconds = i64::from(cursor.u32_at(record, 0));
        let fraction = i64::from(cursor.u32_at(record, 4));
        let captured = cursor.u32_at(record, 8);
        let original_len = cursor.u32_at(record, 12);
        let limit = if nanos { 1_000_000_000 } else { 1_000_000 };
        if fraction >= limit {
            return Err(FormatError::new(
                at + 4,
                format!("the timestamp of packet record {number}"),
                format!("a fraction of a second below {limit}"),
                fraction.to_string(),
                FIX_CORRUPT,
            ));
        }
        if captured > MAX_FRAME_LEN {
            return Err(FormatError::new(
                at + 8,
                format!("the captured length of packet record {number}"),
                format!("at most {MAX_FRAME_LEN} bytes"),
                format!("{captured} bytes"),
                FIX_CORRUPT,
            ));
        }
        let data_at = at + RECORD_HEADER_LEN;
        let data = cursor.take(
            data_at,
            captured as usize,
            &format!("the {captured} bytes of packet record {number}"),
        )?;
        let nanos_part = if nanos { fraction } else { fraction * 1000 };
        frames.push(Frame {
            number,
            time: Timestamp::from_parts(seconds, nanos_part),
            interface: 0,
            data: data.to_vec(),
            original_len: original_len.max(captured),
        });
        at = data_at + captured as usize;
    }
    Ok(CaptureFile {
        format: FileFormat::Pcap,
        interfaces: vec![Interface { name: None, link }],
        frames,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(big_endian: bool, nanos: bool, records: &[(&[u8], u32, u32)]) -> Vec<u8> {
        let put16 = |v: u16| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let put32 = |v: u32| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let mut out = Vec::new();
        out.extend(put32(if nanos { MAGIC_NANOS } else { MAGIC_MICROS }));
        out.extend(put16(2));
        out.extend(put16(4));
        out.extend(put32(0));
        out.extend(put32(0));
        out.extend(put32(65535));
        out.extend(put32(101));
        for (data, seconds, fraction) in records {
            out.extend(put32(*seconds));
            out.extend(put32(*fraction));
            out.extend(put32(data.len() as u32));
            out.extend(put32(data.len() as u32));
            out.extend(*data);
        }
        out
    }

    #[test]
    fn both_byte_orders_and_both_resolutions() {
        for big_endian in [false, true] {
            for nanos in [false, true] {
                let bytes = file(big_endian, nanos, &[(&[0x45, 1, 2], 10, 5)]);
                let parsed = parse(&bytes).unwrap();
                assert_eq!(parsed.interfaces[0].link, LinkType::Raw);
                let frame = &parsed.frames[0];
                assert_eq!(frame.data, vec![0x45, 1, 2]);
                let expected = if nanos {
                    10_000_000_005
                } else {
                    10_000_005_000
                };
                assert_eq!(
                    frame.time,
                    Timestamp(expected),
                    "be={big_endian} ns={nanos}"
                );
            }
        }
    }

    #[test]
    fn a_cut_record_names_its_offset() {
        let mut bytes = file(false, false, &[(&[0x45; 40], 1, 0)]);
        bytes.truncate(24 + 16 + 10);
        let error = parse(&bytes).unwrap_err();
        assert_eq!(error.offset, 40);
        assert_eq!(error.structure, "the 40 bytes of packet record 1");
        assert_eq!(error.found, "the end of the file after 10");
        let text = error.to_string();
        assert!(text.starts_with("at byte 40 (the 40 bytes of packet record 1): expected 40 bytes, found the end of the file after 10."), "{text}");

        let mut bytes = file(false, false, &[(&[0x45; 4], 1, 0)]);
        bytes.extend([1, 2, 3]);
        let error = parse(&bytes).unwrap_err();
        assert_eq!(error.offset, 24 + 16 + 4);
        assert_eq!(error.structure, "the header of packet record 2");
    }

    #[test]
    fn absurd_lengths_and_versions_are_refused() {
        let mut bytes = file(false, false, &[(&[0x45; 4], 1, 0)]);
        bytes[24 + 8..24 + 12].copy_from_slice(&(MAX_FRAME_LEN + 1).to_le_bytes());
        let error = parse(&bytes).unwrap_err();
        assert_eq!(error.offset, 32);
        assert!(error.expected.contains("at most 262144"));

        let mut bytes = file(false, false, &[]);
        bytes[4] = 9;
        assert_eq!(parse(&bytes).unwrap_err().found, "version 9.4");
    }
}
