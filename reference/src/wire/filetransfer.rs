//! The file-transfer segment: the C struct `{ int len; char buf[256]; }`.
//!
//! The server writes the whole 260-byte struct for every chunk of at most 256
//! file bytes, `len` in host byte order; the reference server zero-fills the
//! unused tail of `buf` (a C server may leave garbage there, which a client
//! must ignore). TCP does not keep write boundaries, so a reader gets these
//! 260-byte units in arbitrary pieces: [`SegmentReassembler`] turns pieces
//! back into segments.
//!
//! In the "marker" variant of the iterative transfer a segment with `len == 0`
//! ends each file ([`Segment::end_marker`]).

use std::fmt;
use std::io::IoSlice;

use super::ByteOrder;

/// Bytes of file data one segment can carry (`BUFSIZE` in the course code).
pub const DATA_SIZE: usize = 256;
/// Size of the `len` field.
pub const LEN_SIZE: usize = 4;
/// Size of a whole segment on the wire: `sizeof(file_segment)`.
pub const SEGMENT_SIZE: usize = LEN_SIZE + DATA_SIZE;
/// The most path bytes the server takes from its one `read()`.
pub const MAX_PATH: usize = DATA_SIZE;

/// One segment as the C struct lays it out.
///
/// `len` is kept as the raw `i32` so that a segment with a nonsensical
/// length (negative, above 256) can be decoded and reported rather than
/// silently rejected; [`Segment::data`] validates it.
#[derive(Clone, PartialEq, Eq)]
pub struct Segment {
    /// How many bytes of `buf` are file data.
    pub len: i32,
    /// The data, then whatever fills the struct (zeros from the reference server).
    pub buf: [u8; DATA_SIZE],
}

/// What can be wrong with segments.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SegmentError {
    /// `len` is outside `0..=256`.
    #[error("bad segment length {0} (must be 0..={DATA_SIZE})")]
    BadLength(i32),
    /// More than 256 bytes were offered for one segment.
    #[error("{0} bytes do not fit in one segment (at most {DATA_SIZE})")]
    TooLong(usize),
    /// The stream ended inside a segment.
    #[error("incomplete segment at end of stream ({got} of {SEGMENT_SIZE} bytes)")]
    Truncated {
        /// Bytes of the incomplete segment that did arrive.
        got: usize,
    },
}

impl Segment {
    /// A segment carrying `data`, the rest of `buf` zero.
    pub fn with_data(data: &[u8]) -> Result<Segment, SegmentError> {
        if data.len() > DATA_SIZE {
            return Err(SegmentError::TooLong(data.len()));
        }
        let mut buf = [0u8; DATA_SIZE];
        buf[..data.len()].copy_from_slice(data);
        Ok(Segment {
            len: data.len() as i32,
            buf,
        })
    }

    /// The `len == 0` segment that ends a file in the marker convention.
    pub fn end_marker() -> Segment {
        Segment {
            len: 0,
            buf: [0u8; DATA_SIZE],
        }
    }

    /// The file data this segment carries, if `len` is valid.
    pub fn data(&self) -> Result<&[u8], SegmentError> {
        usize::try_from(self.len)
            .ok()
            .filter(|len| *len <= DATA_SIZE)
            .map(|len| &self.buf[..len])
            .ok_or(SegmentError::BadLength(self.len))
    }

    /// The 260 bytes on the wire.
    pub fn encode(&self, order: ByteOrder) -> [u8; SEGMENT_SIZE] {
        let mut bytes = [0u8; SEGMENT_SIZE];
        bytes[..LEN_SIZE].copy_from_slice(&order.i32_to_bytes(self.len));
        bytes[LEN_SIZE..].copy_from_slice(&self.buf);
        bytes
    }

    /// The segment 260 bytes from the wire hold (not validated, see [`Segment::data`]).
    pub fn decode(bytes: &[u8; SEGMENT_SIZE], order: ByteOrder) -> Segment {
        let mut len = [0u8; LEN_SIZE];
        len.copy_from_slice(&bytes[..LEN_SIZE]);
        let mut buf = [0u8; DATA_SIZE];
        buf.copy_from_slice(&bytes[LEN_SIZE..]);
        Segment {
            len: order.i32_from_bytes(len),
            buf,
        }
    }
}

impl fmt::Debug for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = self.data().unwrap_or(&[]);
        f.debug_struct("Segment")
            .field("len", &self.len)
            .field("data", &crate::transcript::escape_bytes(shown))
            .finish()
    }
}

/// Shorthand for [`Segment::encode`].
pub fn encode(segment: &Segment, order: ByteOrder) -> [u8; SEGMENT_SIZE] {
    segment.encode(order)
}

/// Shorthand for [`Segment::decode`].
pub fn decode(bytes: &[u8; SEGMENT_SIZE], order: ByteOrder) -> Segment {
    Segment::decode(bytes, order)
}

/// The exact byte stream the reference server sends for a file with this
/// content: full segments, a shorter last one, nothing for an empty file,
/// no end marker.
pub fn encode_file(content: &[u8], order: ByteOrder) -> Vec<u8> {
    let mut stream = Vec::with_capacity(content.len().div_ceil(DATA_SIZE) * SEGMENT_SIZE);
    for chunk in content.chunks(DATA_SIZE) {
        let segment = Segment::with_data(chunk).expect("chunks() yields at most DATA_SIZE bytes");
        stream.extend_from_slice(&segment.encode(order));
    }
    stream
}

/// The bytes that segments add around the file data they carry: the `len`
/// fields and the zero fill of a short last segment. With
/// [`SegmentFraming::slices`] a server writes segments straight from its
/// file buffer with vectored writes, the file bytes never copied into an
/// encoded buffer; the bytes on the wire are those of [`encode_file`].
#[derive(Debug, Clone, Copy)]
pub struct SegmentFraming {
    /// `len` of a full segment (256).
    full: [u8; LEN_SIZE],
    /// `len` of the last segment of the data being framed.
    last: [u8; LEN_SIZE],
    /// `len` of the end-of-file marker (0).
    marker: [u8; LEN_SIZE],
}

/// The zero fill of short segments and of the end-of-file marker.
static ZEROS: [u8; DATA_SIZE] = [0; DATA_SIZE];

impl SegmentFraming {
    /// The framing of `data_len` bytes of file data in `order`.
    pub fn new(data_len: usize, order: ByteOrder) -> SegmentFraming {
        let last = match data_len % DATA_SIZE {
            0 => DATA_SIZE,
            n => n,
        };
        SegmentFraming {
            full: order.i32_to_bytes(DATA_SIZE as i32),
            last: order.i32_to_bytes(last as i32),
            marker: order.i32_to_bytes(0),
        }
    }

    /// Appends to `out` the slices that, written in order, are the segments
    /// carrying `data` (whose length this framing was made for), then the
    /// end-of-file marker if `marker`.
    pub fn slices<'a>(&'a self, data: &'a [u8], marker: bool, out: &mut Vec<IoSlice<'a>>) {
        let chunks = data.len().div_ceil(DATA_SIZE);
        out.reserve(chunks * 3 + 2);
        for (i, chunk) in data.chunks(DATA_SIZE).enumerate() {
            let len = if i + 1 == chunks {
                &self.last
            } else {
                &self.full
            };
            out.push(IoSlice::new(len));
            out.push(IoSlice::new(chunk));
            if chunk.len() < DATA_SIZE {
                out.push(IoSlice::new(&ZEROS[chunk.len()..]));
            }
        }
        if marker {
            out.push(IoSlice::new(&self.marker));
            out.push(IoSlice::new(&ZEROS));
        }
    }
}

/// Turns the pieces a socket delivers back into whole segments.
///
/// A `read()` returns whatever has arrived: part of a segment, several
/// segments, or a segment's tail and the next one's head. Feed every piece
/// in order; take whole segments out; at end of stream ask [`finish`]
/// whether bytes of an incomplete segment were left over.
///
/// [`finish`]: SegmentReassembler::finish
#[derive(Debug, Clone, Default)]
pub struct SegmentReassembler {
    order: ByteOrder,
    pending: Vec<u8>,
    start: usize,
}

impl SegmentReassembler {
    /// A reassembler for segments whose `len` is in `order`.
    pub fn new(order: ByteOrder) -> SegmentReassembler {
        SegmentReassembler {
            order,
            pending: Vec::new(),
            start: 0,
        }
    }

    /// Add the next piece of the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.start > 0 && self.start >= self.pending.len() / 2 {
            self.pending.drain(..self.start);
            self.start = 0;
        }
        self.pending.extend_from_slice(bytes);
    }

    /// The next whole segment, if one has arrived.
    pub fn next_segment(&mut self) -> Option<Segment> {
        let end = self.start + SEGMENT_SIZE;
        let bytes: &[u8; SEGMENT_SIZE] = self.pending.get(self.start..end)?.try_into().ok()?;
        let segment = Segment::decode(bytes, self.order);
        self.start = end;
        if self.start == self.pending.len() {
            self.pending.clear();
            self.start = 0;
        }
        Some(segment)
    }

    /// Takes the next piece of the stream without copying the whole segments
    /// in it: returns the segment that earlier pieces began and this one
    /// completes (if any), and the range of `bytes` made of whole segments
    /// that follow it (decode them in place with [`Segment::decode`]); the
    /// incomplete rest is kept for the next piece.
    ///
    /// Take every segment out ([`next_segment`]) before switching from
    /// [`push`] to `split`.
    ///
    /// [`next_segment`]: SegmentReassembler::next_segment
    /// [`push`]: SegmentReassembler::push
    pub fn split(&mut self, bytes: &[u8]) -> (Option<Segment>, std::ops::Range<usize>) {
        debug_assert!(self.partial_len() < SEGMENT_SIZE, "segments left to take");
        let mut at = 0;
        let mut head = None;
        if self.partial_len() > 0 {
            at = (SEGMENT_SIZE - self.partial_len()).min(bytes.len());
            self.push(&bytes[..at]);
            head = self.next_segment();
            if head.is_none() {
                return (None, at..at);
            }
        }
        let end = at + (bytes.len() - at) / SEGMENT_SIZE * SEGMENT_SIZE;
        self.push(&bytes[end..]);
        (head, at..end)
    }

    /// Add a piece and take out every segment it completes.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Segment> {
        self.push(bytes);
        std::iter::from_fn(|| self.next_segment()).collect()
    }

    /// Bytes received that do not form a whole segment yet.
    pub fn partial_len(&self) -> usize {
        self.pending.len() - self.start
    }

    /// At end of stream: `Ok` if no incomplete segment is left over.
    pub fn finish(&self) -> Result<(), SegmentError> {
        match self.partial_len() {
            0 => Ok(()),
            got => Err(SegmentError::Truncated { got }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_segment_is_the_c_struct() {
        let segment = Segment::with_data(b"hi").unwrap();
        let bytes = segment.encode(ByteOrder::Little);
        assert_eq!(bytes.len(), 260);
        assert_eq!(&bytes[..6], &[2, 0, 0, 0, b'h', b'i']);
        assert!(bytes[6..].iter().all(|b| *b == 0));
        assert_eq!(Segment::decode(&bytes, ByteOrder::Little), segment);
        assert_eq!(Segment::decode(&bytes, ByteOrder::Big).len, 0x0200_0000);
    }

    #[test]
    fn lengths_outside_the_buffer_are_rejected() {
        let mut segment = Segment::end_marker();
        assert_eq!(segment.data(), Ok(&[][..]));
        segment.len = 257;
        assert_eq!(segment.data(), Err(SegmentError::BadLength(257)));
        segment.len = -1;
        assert_eq!(segment.data(), Err(SegmentError::BadLength(-1)));
        assert_eq!(
            Segment::with_data(&[0; 257]),
            Err(SegmentError::TooLong(257))
        );
    }

    #[test]
    fn file_encoding_sizes() {
        assert!(encode_file(b"", ByteOrder::Host).is_empty());
        assert_eq!(encode_file(&[7; 256], ByteOrder::Host).len(), 260);
        assert_eq!(encode_file(&[7; 257], ByteOrder::Host).len(), 520);
    }

    #[test]
    fn split_keeps_segments_in_place_and_the_boundaries_whole() {
        let content: Vec<u8> = (0..2000u32).map(|i| (i % 251) as u8).collect();
        let stream = encode_file(&content, ByteOrder::Host);
        for cut in [1, 259, 260, 261, 700, stream.len() - 1] {
            let mut reassembler = SegmentReassembler::new(ByteOrder::Host);
            let mut copy = Vec::new();
            for piece in [&stream[..cut], &stream[cut..]] {
                let (head, whole) = reassembler.split(piece);
                if let Some(head) = head {
                    copy.extend_from_slice(head.data().unwrap());
                }
                for raw in piece[whole].chunks_exact(SEGMENT_SIZE) {
                    let segment = Segment::decode(raw.try_into().unwrap(), ByteOrder::Host);
                    copy.extend_from_slice(segment.data().unwrap());
                }
            }
            assert_eq!(copy, content, "cut at {cut}");
            assert_eq!(reassembler.finish(), Ok(()));
        }
    }

    #[test]
    fn framing_slices_are_the_encoded_segments() {
        for size in [0, 1, 255, 256, 257, 512, 1000, 70_000] {
            let content: Vec<u8> = (0..size).map(|i| (i * 5 + 1) as u8).collect();
            for (order, marker) in [(ByteOrder::Host, false), (ByteOrder::Big, true)] {
                let framing = SegmentFraming::new(content.len(), order);
                let mut slices = Vec::new();
                framing.slices(&content, marker, &mut slices);
                let written: Vec<u8> = slices.iter().flat_map(|s| s.iter().copied()).collect();
                let mut want = encode_file(&content, order);
                if marker {
                    want.extend_from_slice(&Segment::end_marker().encode(order));
                }
                assert_eq!(written, want, "size {size}, marker {marker}");
            }
        }
    }

    #[test]
    fn reassembles_byte_by_byte_and_reports_the_tail() {
        let stream = encode_file(&[1; 300], ByteOrder::Host);
        let mut reassembler = SegmentReassembler::new(ByteOrder::Host);
        let mut segments = Vec::new();
        for byte in &stream[..stream.len() - 1] {
            segments.extend(reassembler.feed(std::slice::from_ref(byte)));
        }
        assert_eq!(segments.len(), 1);
        assert_eq!(
            reassembler.finish(),
            Err(SegmentError::Truncated { got: 259 })
        );
        segments.extend(reassembler.feed(&stream[stream.len() - 1..]));
        assert_eq!(reassembler.finish(), Ok(()));
        assert_eq!(segments[1].data().unwrap(), &[1; 44]);
    }
}
