//! The cap on what a capture keeps, and the account of what it cut.
//!
//! A scenario's capture goes with the results (one pcapng per scenario), so
//! it must stay small whatever the programs send: a 1 MiB file transfer, a
//! server printing without end. The cap keeps every packet's headers (so
//! the ladder and the checks on sizes, flags and order stay exact) and the
//! payload only where it says something: the first bytes of each
//! connection, and small segments anywhere (commands, replies, the daytime
//! line). Beyond that, headers only; beyond a frame limit, nothing. The
//! [`CapReport`] says what was cut, and reports say it to the reader.

use std::collections::HashMap;
use std::net::SocketAddr;

use serde::Serialize;

use crate::show;

/// What a capture keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PayloadCap {
    /// Payload is kept for the first this-many bytes of each connection
    /// (both directions together).
    pub connection_bytes: u64,
    /// Segments with at most this many payload bytes are kept whole anywhere.
    pub small_segment: u32,
    /// At most this much payload is kept in all (then headers only).
    pub total_bytes: u64,
    /// At most this many packets are kept at all (then they are only counted).
    pub max_packets: usize,
}

impl Default for PayloadCap {
    /// 64 KiB per connection, segments up to 300 bytes (a lottery reply,
    /// a 260-byte file segment), 8 MiB in all, 200 000 packets.
    fn default() -> PayloadCap {
        PayloadCap {
            connection_bytes: 64 * 1024,
            small_segment: 300,
            total_bytes: 8 * 1024 * 1024,
            max_packets: 200_000,
        }
    }
}

impl PayloadCap {
    /// No cap: everything kept (for tests and short captures).
    pub fn unlimited() -> PayloadCap {
        PayloadCap {
            connection_bytes: u64::MAX,
            small_segment: u32::MAX,
            total_bytes: u64::MAX,
            max_packets: usize::MAX,
        }
    }

    /// The rule in one sentence.
    pub fn describe(&self) -> String {
        if *self == PayloadCap::unlimited() {
            return "every packet kept whole".to_string();
        }
        format!(
            "payload kept for the first {} of each connection and for segments of at most {}, headers only beyond; at most {} of payload and {} packets in all",
            show::size(self.connection_bytes),
            show::size(self.small_segment.into()),
            show::size(self.total_bytes),
            self.max_packets
        )
    }
}

/// What a capture saw and what its cap cut.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CapReport {
    pub cap: PayloadCap,
    /// TCP packets seen.
    pub packets_seen: u64,
    /// Packets kept (whole or headers only).
    pub packets_kept: u64,
    /// Packets seen after `max_packets`: counted, not kept.
    pub packets_dropped: u64,
    /// Payload bytes seen in kept packets.
    pub payload_seen: u64,
    /// Payload bytes kept.
    pub payload_kept: u64,
    /// Packets whose payload was cut (headers kept).
    pub segments_cut: u64,
    /// Packets the kernel dropped because socklab read too slowly.
    pub kernel_drops: u64,
}

impl CapReport {
    fn new(cap: PayloadCap) -> CapReport {
        CapReport {
            cap,
            packets_seen: 0,
            packets_kept: 0,
            packets_dropped: 0,
            payload_seen: 0,
            payload_kept: 0,
            segments_cut: 0,
            kernel_drops: 0,
        }
    }

    /// Whether anything was left out.
    pub fn cut_anything(&self) -> bool {
        self.segments_cut > 0 || self.packets_dropped > 0 || self.kernel_drops > 0
    }

    /// What was kept and cut, in one or two sentences for a report.
    pub fn describe(&self) -> String {
        let mut text = format!(
            "{} TCP packets captured ({}).",
            self.packets_seen,
            self.cap.describe()
        );
        if self.segments_cut > 0 {
            text.push_str(&format!(
                " Payload cut from {} packets: {} of {} kept.",
                self.segments_cut,
                show::bytes(self.payload_kept),
                show::bytes(self.payload_seen)
            ));
        } else {
            text.push_str(" Nothing was cut.");
        }
        if self.packets_dropped > 0 {
            text.push_str(&format!(
                " {} packets after the first {} were counted but not kept.",
                self.packets_dropped, self.cap.max_packets
            ));
        }
        if self.kernel_drops > 0 {
            text.push_str(&format!(
                " The kernel dropped {} packets before socklab could read them.",
                self.kernel_drops
            ));
        }
        text
    }
}

/// Applies a [`PayloadCap`] packet by packet.
pub(crate) struct Capper {
    report: CapReport,
    seen_per_connection: HashMap<(SocketAddr, SocketAddr), u64>,
}

impl Capper {
    pub fn new(cap: PayloadCap) -> Capper {
        Capper {
            report: CapReport::new(cap),
            seen_per_connection: HashMap::new(),
        }
    }

    /// How many payload bytes of this packet to keep; `None` when the
    /// packet is not kept at all.
    pub fn admit(
        &mut self,
        source: SocketAddr,
        destination: SocketAddr,
        payload_len: u32,
    ) -> Option<u32> {
        let cap = self.report.cap;
        self.report.packets_seen += 1;
        if self.report.packets_kept >= cap.max_packets as u64 {
            self.report.packets_dropped += 1;
            return None;
        }
        let key = if source <= destination {
            (source, destination)
        } else {
            (destination, source)
        };
        let seen = self.seen_per_connection.entry(key).or_insert(0);
        let len = u64::from(payload_len);
        let mut keep = if payload_len <= cap.small_segment {
            len
        } else {
            len.min(cap.connection_bytes.saturating_sub(*seen))
        };
        *seen += len;
        if self.report.payload_kept.saturating_add(keep) > cap.total_bytes {
            keep = 0;
        }
        self.report.packets_kept += 1;
        self.report.payload_seen += len;
        self.report.payload_kept += keep;
        if keep < len {
            self.report.segments_cut += 1;
        }
        Some(keep as u32)
    }

    /// The account so far, with the kernel's drops so far.
    pub fn report(&self, kernel_drops: u64) -> CapReport {
        CapReport {
            kernel_drops,
            ..self.report.clone()
        }
    }

    pub fn finish(mut self, kernel_drops: u64) -> CapReport {
        self.report.kernel_drops = kernel_drops;
        self.report
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn first_bytes_and_small_segments_are_kept() {
        let mut capper = Capper::new(PayloadCap {
            connection_bytes: 1000,
            small_segment: 10,
            total_bytes: 10_000,
            max_packets: 5,
        });
        assert_eq!(capper.admit(addr(1), addr(2), 600), Some(600));
        assert_eq!(
            capper.admit(addr(2), addr(1), 600),
            Some(400),
            "the rest of the connection's first 1000 bytes"
        );
        assert_eq!(
            capper.admit(addr(1), addr(2), 600),
            Some(0),
            "headers only beyond"
        );
        assert_eq!(
            capper.admit(addr(1), addr(2), 4),
            Some(4),
            "small segments always"
        );
        assert_eq!(
            capper.admit(addr(3), addr(2), 600),
            Some(600),
            "another connection has its own budget"
        );
        assert_eq!(
            capper.admit(addr(3), addr(2), 1),
            None,
            "over the packet limit"
        );
        let report = capper.finish(0);
        assert_eq!(report.packets_seen, 6);
        assert_eq!(report.packets_kept, 5);
        assert_eq!(report.packets_dropped, 1);
        assert_eq!(report.segments_cut, 2);
        assert_eq!(report.payload_seen, 2404);
        assert_eq!(report.payload_kept, 1604);
        let text = report.describe();
        assert!(
            text.contains("Payload cut from 2 packets: 1604 bytes of 2404 bytes kept."),
            "{text}"
        );
        assert!(
            text.contains("1 packets after the first 5 were counted but not kept"),
            "{text}"
        );
    }

    #[test]
    fn the_total_cap_keeps_headers_only() {
        let mut capper = Capper::new(PayloadCap {
            connection_bytes: u64::MAX,
            small_segment: 0,
            total_bytes: 100,
            max_packets: 100,
        });
        assert_eq!(capper.admit(addr(1), addr(2), 80), Some(80));
        assert_eq!(capper.admit(addr(1), addr(2), 80), Some(0));
    }
}
