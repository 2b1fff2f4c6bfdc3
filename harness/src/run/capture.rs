//! A scenario's packet capture: every host's network namespace recorded,
//! on every interface, from before the first step to after the last (a
//! `socklab_packets::Capture` per host); a snapshot of the conversation
//! for each `packets` step; the packets failed checks point at; and at the
//! end the capture file (pcapng) and the ladders the report draws.
//!
//! Capture needs a network namespace of the scenario's own: in the
//! loopback fallback it is unavailable, and packet steps are skipped with
//! the reason ([`UNAVAILABLE_ON_LOOPBACK`]).

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::Mutex;

use socklab_packets::checks::Verdict;
use socklab_packets::{
    Capture, CaptureOptions, Captured, Connection, Conversation, Ladder, Namespace,
};
use socklab_report::PacketsReport;

use crate::sandbox::{IsolationLevel, Sandbox};

/// Why nothing is captured in the loopback fallback.
pub const UNAVAILABLE_ON_LOOPBACK: &str = "packet capture needs a network namespace of the scenario's own, and this run has none (loopback isolation): packet checks are skipped";

/// Why nothing is captured when the run asked for none.
pub const TURNED_OFF: &str =
    "packet capture is turned off (--no-capture): packet checks are skipped";

/// Connections drawn per scenario (those packet checks looked at first).
const MAX_LADDERS: usize = 6;
/// Packets drawn per connection (head and tail of a longer one).
const MAX_ROWS: usize = 48;

/// A connection, the same in every snapshot and in the final capture:
/// its client, its server and when its first packet was seen.
type ConnectionKey = (SocketAddr, SocketAddr, i64);

fn key(connection: &Connection) -> ConnectionKey {
    (connection.client, connection.server, connection.start.0)
}

/// The capture of one scenario, started with its sandbox.
pub struct ScenarioCapture {
    recording: Result<Mutex<Vec<(String, Capture)>>, String>,
    marks: Mutex<Marks>,
}

/// What packet steps found, for the ladders.
#[derive(Default)]
struct Marks {
    /// Connections packet steps looked at, in order.
    checked: Vec<ConnectionKey>,
    /// Times (ns) of the packets failed checks point at, per connection.
    failed: BTreeMap<ConnectionKey, BTreeSet<i64>>,
}

/// What a finished capture leaves: the file and the report's part.
pub struct CaptureResult {
    pub pcapng: Vec<u8>,
    pub report: PacketsReport,
}

impl ScenarioCapture {
    /// Starts capturing on every host of `sandbox` (each returns once its
    /// socket is open, a few milliseconds); unavailable, with the reason,
    /// where the hosts have no network namespace or capture fails.
    pub fn start(sandbox: &Sandbox, wanted: bool) -> ScenarioCapture {
        let recording = if !wanted {
            Err(TURNED_OFF.to_string())
        } else if sandbox.level == IsolationLevel::Loopback {
            Err(UNAVAILABLE_ON_LOOPBACK.to_string())
        } else {
            sandbox
                .hosts()
                .map(|host| {
                    let namespace = match host.netns() {
                        Some(Ok(fd)) => Namespace::Fd(fd),
                        Some(Err(e)) => {
                            return Err(format!("cannot capture on host `{}`: {e}", host.name));
                        }
                        None => return Err(UNAVAILABLE_ON_LOOPBACK.to_string()),
                    };
                    Capture::start(CaptureOptions::new(namespace))
                        .map(|capture| (host.name.clone(), capture))
                        .map_err(|e| format!("cannot capture on host `{}`: {e}", host.name))
                })
                .collect::<Result<Vec<_>, String>>()
                .map(Mutex::new)
        };
        ScenarioCapture {
            recording,
            marks: Mutex::new(Marks::default()),
        }
    }

    /// Why nothing is captured, when nothing is.
    pub fn unavailable(&self) -> Option<&str> {
        self.recording.as_ref().err().map(String::as_str)
    }

    /// The conversation so far: every packet sent before this call (the
    /// hosts' captures merged, a packet seen on both ends of a link once).
    pub fn conversation(&self) -> Result<Conversation, String> {
        let recording = self.recording.as_ref().map_err(Clone::clone)?;
        let captures = recording.lock().expect("capture");
        let mut parts = Vec::new();
        for (host, capture) in captures.iter() {
            let part = capture
                .snapshot()
                .map_err(|e| format!("the capture on host `{host}` failed: {e}"))?;
            parts.push((host.clone(), part));
        }
        Ok(merged(parts).conversation)
    }

    /// Remembers that a packet step looked at `connection`, and which of
    /// its packets its failed checks point at (drawn red in the ladder).
    pub fn looked_at(&self, connection: &Connection, verdicts: &[Verdict]) {
        let mut marks = self.marks.lock().expect("marks");
        let key = key(connection);
        if !marks.checked.contains(&key) {
            marks.checked.push(key);
        }
        let times = verdicts
            .iter()
            .filter(|v| v.is_failed() && v.connection == Some(connection.id))
            .flat_map(|v| v.events.iter())
            .filter_map(|i| connection.events.get(*i))
            .map(|e| e.time.0);
        marks.failed.entry(key).or_default().extend(times);
    }

    /// Stops every host's capture; the file and the report's ladders, or
    /// `None` when nothing was captured (unavailable, or a capture failed:
    /// then the report says why in `cap`).
    pub fn finish(&self, file: Option<String>) -> Option<CaptureResult> {
        let recording = self.recording.as_ref().ok()?;
        let captures = std::mem::take(&mut *recording.lock().expect("capture"));
        if captures.is_empty() {
            return None;
        }
        let mut parts = Vec::new();
        let mut failures = Vec::new();
        for (host, capture) in captures {
            match capture.stop() {
                Ok(part) => parts.push((host, part)),
                Err(e) => failures.push(format!("the capture on host `{host}` failed: {e}")),
            }
        }
        if parts.is_empty() {
            return Some(CaptureResult {
                pcapng: Vec::new(),
                report: PacketsReport {
                    file: None,
                    cap: failures.join("; "),
                    connections: Vec::new(),
                    not_drawn: 0,
                },
            });
        }
        let captured = merged(parts);
        let mut cap = captured.cap.describe();
        for failure in failures {
            cap.push(' ');
            cap.push_str(&failure);
        }
        let marks = self.marks.lock().expect("marks");
        let connections = &captured.conversation.connections;
        let mut order: Vec<&Connection> = marks
            .checked
            .iter()
            .filter_map(|k| connections.iter().find(|c| key(c) == *k))
            .collect();
        for connection in connections {
            if !order.iter().any(|c| c.id == connection.id) {
                order.push(connection);
            }
        }
        let drawn: Vec<_> = order
            .iter()
            .take(MAX_LADDERS)
            .map(|connection| {
                let failed = marks.failed.get(&key(connection));
                let marked = connection
                    .events
                    .iter()
                    .filter(|e| failed.is_some_and(|times| times.contains(&e.time.0)))
                    .map(|e| e.index);
                Ladder::new(connection)
                    .mark(marked)
                    .at_most(MAX_ROWS)
                    .diagram()
            })
            .collect();
        Some(CaptureResult {
            report: PacketsReport {
                file,
                cap,
                not_drawn: connections.len() - drawn.len(),
                connections: drawn,
            },
            pcapng: captured.pcapng,
        })
    }
}

/// Runs `work` (reading, parsing and merging a capture: milliseconds to
/// tens of them for a long transfer) without holding up the other tasks of
/// the runtime's worker: on a multi-threaded runtime the worker hands its
/// tasks to another thread meanwhile; on a single-threaded one (tests) it
/// simply runs.
pub fn off_the_runtime<T>(work: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(work)
        }
        _ => work(),
    }
}

/// One host's capture as it is; several merged, interfaces named by host.
fn merged(mut parts: Vec<(String, Captured)>) -> Captured {
    if parts.len() == 1 {
        return parts.remove(0).1;
    }
    Captured::merge(parts)
}
