//! Capture files: pcap and pcapng read into frames, and pcapng written.
//!
//! The first stage for a student's own capture (`socklab packets FILE`):
//! bytes → [`CaptureFile`] (interfaces and timestamped frames) →
//! [`crate::segment`] → [`crate::conversation`]. The format is found from
//! the file's first four bytes, never from its name. Both readers stop at
//! the first malformed structure with a [`FormatError`] naming its byte
//! offset; they never panic and never allocate more than the file's size.
//!
//! Writing is pcapng only ([`pcapng::PcapngWriter`]): socklab's own live
//! captures are saved that way, one file per scenario, for Wireshark.

pub mod pcap;
pub mod pcapng;

use std::path::Path;

use serde::Serialize;

use crate::error::{FIX_NOT_A_CAPTURE, FormatError, ReadError};
use crate::link::LinkType;

/// A point in time, in nanoseconds since the Unix epoch (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// Seconds and nanoseconds since the epoch.
    pub fn from_parts(seconds: i64, nanos: i64) -> Timestamp {
        Timestamp(seconds.saturating_mul(1_000_000_000).saturating_add(nanos))
    }

    /// The time elapsed since `earlier` (zero if `earlier` is later).
    pub fn since(self, earlier: Timestamp) -> std::time::Duration {
        let nanos = self.0.saturating_sub(earlier.0).max(0);
        std::time::Duration::from_nanos(nanos as u64)
    }
}

/// Which container a capture came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum FileFormat {
    /// Classic libpcap (`tcpdump -w`, Wireshark's "pcap"), µs or ns timestamps.
    Pcap,
    /// pcapng (Wireshark's default).
    Pcapng,
}

impl FileFormat {
    /// `pcap` or `pcapng`.
    pub fn name(self) -> &'static str {
        match self {
            FileFormat::Pcap => "pcap",
            FileFormat::Pcapng => "pcapng",
        }
    }
}

/// An interface the capture was taken on; frames refer to it by index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Interface {
    /// Its name when the file gives one (`lo0`, `eth0`), pcapng only.
    pub name: Option<String>,
    /// How its frames start.
    pub link: LinkType,
}

/// One captured frame, link header included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The frame's number, from 1, as Wireshark shows it.
    pub number: usize,
    /// When it was captured.
    pub time: Timestamp,
    /// Index into [`CaptureFile::interfaces`].
    pub interface: usize,
    /// The bytes kept (possibly fewer than were on the wire).
    pub data: Vec<u8>,
    /// How long the frame was on the wire.
    pub original_len: u32,
}

/// A capture file's content: interfaces and frames in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureFile {
    pub format: FileFormat,
    pub interfaces: Vec<Interface>,
    pub frames: Vec<Frame>,
}

impl CaptureFile {
    /// The link type of a frame's interface.
    pub fn link_of(&self, frame: &Frame) -> LinkType {
        self.interfaces
            .get(frame.interface)
            .map(|i| i.link)
            .unwrap_or(LinkType::Other(u16::MAX))
    }

    /// The distinct link types of the interfaces, in order of first use.
    pub fn link_types(&self) -> Vec<LinkType> {
        let mut seen = Vec::new();
        for interface in &self.interfaces {
            if !seen.contains(&interface.link) {
                seen.push(interface.link);
            }
        }
        seen
    }
}

/// Read a pcap or pcapng file.
pub fn read(path: &Path) -> Result<CaptureFile, ReadError> {
    let bytes = std::fs::read(path).map_err(|source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&bytes).map_err(|error| ReadError::Format {
        path: path.to_path_buf(),
        error: Box::new(error),
    })
}

/// Parse the bytes of a pcap or pcapng file, telling the format by its
/// first four bytes.
pub fn parse(bytes: &[u8]) -> Result<CaptureFile, FormatError> {
    let Some(magic) = bytes.first_chunk::<4>() else {
        return Err(FormatError::new(
            0,
            "the file's magic number",
            "4 bytes of a pcap or pcapng magic number",
            format!("a file of {} bytes", bytes.len()),
            FIX_NOT_A_CAPTURE,
        ));
    };
    if *magic == pcapng::SECTION_HEADER_TYPE.to_le_bytes() {
        return pcapng::parse(bytes);
    }
    if pcap::is_pcap_magic(*magic) {
        return pcap::parse(bytes);
    }
    Err(FormatError::new(
        0,
        "the file's magic number",
        "a pcap magic number (a1 b2 c3 d4, a1 b2 3c 4d or their byte-swaps) or a pcapng section header (0a 0d 0d 0a)",
        describe_bytes(magic),
        FIX_NOT_A_CAPTURE,
    ))
}

/// Bytes shown as hex, plus the text they spell when they are printable
/// (so a text file given by mistake is recognised).
pub(crate) fn describe_bytes(bytes: &[u8]) -> String {
    let hex: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let hex = hex.join(" ");
    if bytes.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        format!("{hex} (text \"{}\")", String::from_utf8_lossy(bytes))
    } else {
        hex
    }
}

/// A cursor over a file's bytes in one byte order, with offsets for errors.
pub(crate) struct Cursor<'a> {
    pub bytes: &'a [u8],
    pub big_endian: bool,
}

impl<'a> Cursor<'a> {
    /// `len` bytes at `at`, or a truncation error naming `structure`.
    pub fn take(&self, at: usize, len: usize, structure: &str) -> Result<&'a [u8], FormatError> {
        let end = at.checked_add(len);
        match end.and_then(|end| self.bytes.get(at..end)) {
            Some(slice) => Ok(slice),
            None => Err(FormatError::truncated(
                at,
                structure,
                len,
                self.bytes.len().saturating_sub(at),
            )),
        }
    }

    pub fn u16_at(&self, slice: &[u8], at: usize) -> u16 {
        let b = [slice[at], slice[at + 1]];
        if self.big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        }
    }

    pub fn u32_at(&self, slice: &[u8], at: usize) -> u32 {
        let b = [slice[at], slice[at + 1], slice[at + 2], slice[at + 3]];
        if self.big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    }
}
