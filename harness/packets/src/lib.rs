//! socklab's packets: what the TCP conversation of a lab session looked like.
//!
//! The handout's supplement asks students to look at their programs'
//! packets; this crate lets socklab do it too, and check what it sees.
//! It needs nothing of the scenario runner, so scenarios, reports and the
//! CLI use it as a library. The flow:
//!
//! ```text
//! file::read (pcap, pcapng)  ─┐
//!                             ├─▶ segment (TCP) ─▶ conversation (connections, events)
//! live::Capture (AF_PACKET) ──┘                        │
//!        └─▶ file::pcapng::PcapngWriter (for Wireshark)  ├─▶ checks (pure verdicts)
//!                                                      ├─▶ judge (a whole lottery/daytime/echo/ft session?)
//!                                                      └─▶ ladder (text, Markdown, SVG)
//! report: judge_capture_file + render_text = `socklab packets FILE [--lab lottery]`
//! ```
//!
//! - [`file`](mod@file): capture files read (pcap in both byte orders, µs and ns;
//!   pcapng with several sections and interfaces) and pcapng written.
//! - [`link`]: link layers (NULL/LOOP loopback, Ethernet, raw IP, Linux
//!   cooked SLL/SLL2) stripped down to IP.
//! - [`segment`]: IP and TCP headers parsed (with `etherparse`, see there).
//! - [`conversation`]: connections by 4-tuple, each packet an event.
//! - [`checks`]: pure functions from a connection to a [`checks::Verdict`]
//!   (expected, what the capture shows, a hint).
//! - [`judge`]: whether a capture shows a whole session of a lab protocol.
//! - [`ladder`]: a connection drawn as a ladder diagram.
//! - [`live`]: capture in a network namespace, capped, as model and pcapng.
//! - [`report`]: the `socklab packets FILE` report and its text rendering.

pub mod cap;
pub mod checks;
pub mod conversation;
pub mod error;
pub mod file;
pub mod judge;
pub mod ladder;
pub mod link;
pub mod live;
pub mod report;
pub mod segment;
pub mod show;

pub use cap::{CapReport, PayloadCap};
pub use checks::{Endpoints, Outcome, Verdict};
pub use conversation::{Connection, Conversation, Direction, Event, EventKind, Side};
pub use error::{FormatError, ReadError};
pub use file::{CaptureFile, Timestamp};
pub use judge::{Judgment, Protocol};
pub use ladder::Ladder;
pub use live::{Capture, CaptureError, CaptureOptions, Captured, Interfaces, Namespace};
pub use report::{Report, judge_capture_file, render_text};
