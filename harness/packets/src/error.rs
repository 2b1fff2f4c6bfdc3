//! Errors of reading a capture file, said for the person who made the file.
//!
//! Every format error carries the byte offset where the reader stopped, the
//! structure it was reading there, what it expected and what it found, and
//! how to get a readable file, so `socklab packets FILE` can tell a student
//! more than "invalid file".

use std::fmt;
use std::path::PathBuf;

/// A capture file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file could not be opened or read at all.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The bytes are not a well-formed pcap or pcapng file.
    #[error("{}: {error}", path.display())]
    Format {
        path: PathBuf,
        #[source]
        error: Box<FormatError>,
    },
}

impl ReadError {
    /// The format error, when the file was read but is not well formed.
    pub fn format_error(&self) -> Option<&FormatError> {
        match self {
            ReadError::Format { error, .. } => Some(error),
            ReadError::Io { .. } => None,
        }
    }
}

/// Where and why the bytes of a capture stopped making sense.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct FormatError {
    /// Offset from the start of the file of the structure being read.
    pub offset: u64,
    /// The structure being read, e.g. `the header of packet record 7`.
    pub structure: String,
    /// What the reader needed there.
    pub expected: String,
    /// What the file holds there instead.
    pub found: String,
    /// How to get a file that can be read.
    pub fix: String,
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "at byte {} ({}): expected {}, found {}. {}",
            self.offset, self.structure, self.expected, self.found, self.fix
        )
    }
}

/// The fix for a file that ends in the middle of a structure.
pub(crate) const FIX_TRUNCATED: &str = "The file was cut short (the capture program was killed, or the copy is incomplete): stop tcpdump with Ctrl-C or save the capture again from Wireshark.";

/// The fix for bytes that are not a capture at all.
pub(crate) const FIX_NOT_A_CAPTURE: &str = "Give a file saved by Wireshark (pcapng, or \"Wireshark/tcpdump - pcap\") or written by `tcpdump -w FILE`.";

/// The fix for a structure whose fields contradict each other.
pub(crate) const FIX_CORRUPT: &str =
    "The file is damaged: capture again, or open it in Wireshark and save it again as pcapng.";

impl FormatError {
    pub(crate) fn new(
        offset: usize,
        structure: impl Into<String>,
        expected: impl Into<String>,
        found: impl Into<String>,
        fix: &str,
    ) -> FormatError {
        FormatError {
            offset: offset as u64,
            structure: structure.into(),
            expected: expected.into(),
            found: found.into(),
            fix: fix.to_string(),
        }
    }

    /// The file ends `available` bytes into a structure that needs `needed`.
    pub(crate) fn truncated(
        offset: usize,
        structure: impl Into<String>,
        needed: usize,
        available: usize,
    ) -> FormatError {
        FormatError::new(
            offset,
            structure,
            format!("{needed} bytes"),
            format!("the end of the file after {available}"),
            FIX_TRUNCATED,
        )
    }
}
