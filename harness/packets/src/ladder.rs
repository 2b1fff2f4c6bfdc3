//! Ladder diagrams: a connection drawn as arrows between two lanes.
//!
//! The picture the handout's supplement draws by hand: the client's lane
//! on the left, the server's on the right, one arrow per packet with its
//! relative time — SYN, SYN-ACK, ACK, data (its size and first bytes, as
//! hex for binary like `00 00 00 00`, as text like `"New number generated:
//! 17"`), FIN, RST. Three renderings of one [`Ladder`]: [`Ladder::text`]
//! for a terminal, [`Ladder::markdown`] for feedback pages, and
//! [`Ladder::svg`] for HTML. Arrows a failed check points at are marked:
//! `✗` in text, red in SVG.

use std::collections::BTreeSet;
use std::fmt::Write;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::checks::{Outcome, Verdict};
use crate::conversation::{Connection, Direction, Event, EventKind};
use crate::show;

/// Width of the space between the two lanes in the text rendering.
const TEXT_LANE: usize = 58;
/// The longest label an arrow carries (it fits between the lanes of the
/// text and of the SVG).
const LABEL_CHARS: usize = TEXT_LANE - 6;

/// How to draw one connection.
#[derive(Debug, Clone)]
pub struct Ladder<'a> {
    connection: &'a Connection,
    marked: BTreeSet<usize>,
    pure_acks: bool,
    max_rows: Option<usize>,
}

impl<'a> Ladder<'a> {
    /// Every packet of the connection, none marked.
    pub fn new(connection: &'a Connection) -> Ladder<'a> {
        Ladder {
            connection,
            marked: BTreeSet::new(),
            pure_acks: true,
            max_rows: None,
        }
    }

    /// Mark these events (indices into the connection's events).
    pub fn mark(mut self, events: impl IntoIterator<Item = usize>) -> Ladder<'a> {
        self.marked.extend(events);
        self
    }

    /// Mark the events that failed verdicts on this connection point at.
    pub fn mark_failures<'v>(self, verdicts: impl IntoIterator<Item = &'v Verdict>) -> Ladder<'a> {
        let id = self.connection.id;
        let events: Vec<usize> = verdicts
            .into_iter()
            .filter(|v| v.outcome == Outcome::Failed && v.connection == Some(id))
            .flat_map(|v| v.events.iter().copied())
            .collect();
        self.mark(events)
    }

    /// Leave out packets that only acknowledge (and are not marked), for a
    /// shorter picture of a long exchange.
    pub fn without_pure_acks(mut self) -> Ladder<'a> {
        self.pure_acks = false;
        self
    }

    /// Draw at most `rows` packets of a long connection: its first two
    /// thirds and last third, the marked ones always, and a gap saying how
    /// many are left out between (the capture file has them all).
    pub fn at_most(mut self, rows: usize) -> Ladder<'a> {
        self.max_rows = Some(rows.max(3));
        self
    }

    fn shown(&self) -> impl Iterator<Item = &'a Event> + '_ {
        self.connection.events.iter().filter(|e| {
            self.pure_acks || e.kind() != EventKind::Ack || self.marked.contains(&e.index)
        })
    }

    /// What every rendering draws, as data a report can keep.
    pub fn diagram(&self) -> Diagram {
        let c = self.connection;
        let shown: Vec<&Event> = self.shown().collect();
        let acks_left_out = c.events.len() - shown.len();
        let keep: BTreeSet<usize> = match self.max_rows {
            Some(max) if shown.len() > max => {
                let head = max * 2 / 3;
                let tail = max - head;
                (0..head)
                    .chain(shown.len() - tail..shown.len())
                    .chain(
                        shown
                            .iter()
                            .enumerate()
                            .filter(|(_, e)| self.marked.contains(&e.index))
                            .map(|(i, _)| i),
                    )
                    .collect()
            }
            _ => (0..shown.len()).collect(),
        };
        let mut rows = Vec::new();
        let mut gap = 0;
        for (i, event) in shown.iter().enumerate() {
            if !keep.contains(&i) {
                gap += 1;
                continue;
            }
            if gap > 0 {
                rows.push(Row::Gap { packets: gap });
                gap = 0;
            }
            rows.push(Row::Packet(Arrow::of(
                event,
                self.marked.contains(&event.index),
            )));
        }
        if gap > 0 {
            rows.push(Row::Gap { packets: gap });
        }
        Diagram {
            connection: c.id,
            client: c.client.to_string(),
            server: c.server.to_string(),
            syn_seen: c.syn_seen,
            packets: c.events.len(),
            duration_ns: duration_ns(c.duration()),
            rows,
            acks_left_out,
        }
    }

    /// The ladder as monospaced text, about 80 columns wide.
    pub fn text(&self) -> String {
        self.diagram().text()
    }

    /// A heading line and the text ladder in a fenced block.
    pub fn markdown(&self) -> String {
        self.diagram().markdown()
    }

    /// The ladder as a standalone SVG image (also fit to inline in HTML).
    pub fn svg(&self) -> String {
        self.diagram().svg()
    }
}

fn duration_ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// A connection's ladder as data: the two lanes and one row per packet
/// drawn, with everything its renderings show. Reports keep this (not the
/// packets) and draw it as text, Markdown or SVG.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagram {
    /// The connection's number in its capture (from 1).
    pub connection: usize,
    /// `127.0.0.1:59538`.
    pub client: String,
    pub server: String,
    /// Whether the client's SYN was captured (else the roles are guessed).
    pub syn_seen: bool,
    /// Packets in the connection, drawn or not.
    pub packets: usize,
    /// From its first packet to its last.
    pub duration_ns: u64,
    pub rows: Vec<Row>,
    /// Packets that only acknowledge, left out of `rows`.
    #[serde(default)]
    pub acks_left_out: usize,
}

/// One row of a [`Diagram`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "row", rename_all = "snake_case")]
pub enum Row {
    /// A packet.
    Packet(Arrow),
    /// Packets left out of a long connection here.
    Gap { packets: usize },
}

/// One packet as a ladder draws it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Arrow {
    /// Its frame number in the capture file (from 1).
    pub frame: usize,
    /// Time since the connection's first packet.
    pub at_ns: u64,
    pub direction: Direction,
    pub kind: EventKind,
    /// What the arrow says: `SYN`, `4 bytes  00 00 00 00`, `FIN`.
    pub label: String,
    /// The flags as Wireshark lists them, e.g. `PSH, ACK`.
    pub flags: String,
    /// Sequence and acknowledgement numbers relative to each side's first, and the window.
    pub seq: u32,
    pub ack: u32,
    pub window: u16,
    pub retransmission: bool,
    /// A failed check points at it: drawn red (`✗` in text).
    pub marked: bool,
}

impl Arrow {
    fn of(event: &Event, marked: bool) -> Arrow {
        Arrow {
            frame: event.frame,
            at_ns: duration_ns(event.at),
            direction: event.direction,
            kind: event.kind(),
            label: label(event, LABEL_CHARS),
            flags: event.flags.names(),
            seq: event.seq,
            ack: event.ack,
            window: event.window,
            retransmission: event.retransmission,
            marked,
        }
    }

    fn at(&self) -> String {
        show::seconds(Duration::from_nanos(self.at_ns))
    }
}

impl Diagram {
    fn arrows(&self) -> impl Iterator<Item = &Arrow> {
        self.rows.iter().filter_map(|r| match r {
            Row::Packet(a) => Some(a),
            Row::Gap { .. } => None,
        })
    }

    /// Whether a failed check points at one of its packets.
    pub fn has_marks(&self) -> bool {
        self.arrows().any(|a| a.marked)
    }

    /// Packets of a long connection left out of the rows (not counting
    /// the acknowledgements left out).
    pub fn gap_packets(&self) -> usize {
        self.rows
            .iter()
            .map(|r| match r {
                Row::Gap { packets } => *packets,
                Row::Packet(_) => 0,
            })
            .sum()
    }

    /// The same diagram without the unmarked packets that only
    /// acknowledge: the compact form for a terminal.
    pub fn without_pure_acks(&self) -> Diagram {
        let mut rows: Vec<Row> = Vec::new();
        let mut left_out = 0;
        for row in &self.rows {
            match row {
                Row::Packet(a) if a.kind == EventKind::Ack && !a.marked => left_out += 1,
                Row::Gap { packets } => match rows.last_mut() {
                    Some(Row::Gap { packets: before }) => *before += packets,
                    _ => rows.push(Row::Gap { packets: *packets }),
                },
                other => rows.push(other.clone()),
            }
        }
        Diagram {
            rows,
            acks_left_out: self.acks_left_out + left_out,
            ..self.clone()
        }
    }

    /// `connection 1: client 127.0.0.1:59538 → server 127.0.0.1:1235 (19 packets over 3.211 s)`.
    pub fn heading(&self) -> String {
        format!(
            "connection {}: client {} → server {} ({} over {} s)",
            self.connection,
            self.client,
            self.server,
            show::count(self.packets, "packet"),
            show::seconds(Duration::from_nanos(self.duration_ns))
        )
    }

    /// The ladder as monospaced text, about 80 columns wide.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let lanes = TEXT_LANE + 2;
        let left = format!("client {}", self.client);
        let right = format!("server {}", self.server);
        let gap = lanes
            .saturating_sub(left.chars().count() + right.chars().count())
            .max(1);
        let _ = writeln!(out, "{:13}{left}{}{right}", "", " ".repeat(gap));
        for row in &self.rows {
            match row {
                Row::Packet(arrow) => {
                    let mark = if arrow.marked { "✗" } else { " " };
                    let line = text_arrow(arrow.direction, &arrow.label);
                    let _ = writeln!(out, "{mark} {:>10} {line}", arrow.at());
                }
                Row::Gap { packets } => {
                    let _ = writeln!(
                        out,
                        "{:13}|{:^width$}|",
                        "",
                        format!("⋮ {} not drawn ⋮", show::count(*packets, "packet")),
                        width = TEXT_LANE
                    );
                }
            }
        }
        if self.acks_left_out > 0 {
            let _ = writeln!(
                out,
                "{:13}({} packets that only acknowledge not shown)",
                "", self.acks_left_out
            );
        }
        if self.has_marks() {
            let _ = writeln!(out, "{:13}✗ marks a packet a failed check points at", "");
        }
        out
    }

    /// A heading line and the text ladder in a fenced block.
    pub fn markdown(&self) -> String {
        format!(
            "**Connection {}**: client `{}` → server `{}` ({} packets over {} s)\n\n```text\n{}```\n",
            self.connection,
            self.client,
            self.server,
            self.packets,
            show::seconds(Duration::from_nanos(self.duration_ns)),
            self.text()
        )
    }

    /// The ladder as a standalone SVG image (also fit to inline in HTML).
    pub fn svg(&self) -> String {
        svg(self, &format!("c{}", self.connection))
    }

    /// The SVG with `id` in its element ids, so that several ladders can
    /// be inlined in one HTML page (`id`: letters, digits, `-`).
    pub fn svg_with_id(&self, id: &str) -> String {
        svg(self, id)
    }
}

/// What an arrow says: the packet's kind, and for data its size and first bytes.
pub fn label(event: &Event, max_chars: usize) -> String {
    let mut text = match event.kind() {
        EventKind::Data => data_label(event, max_chars),
        EventKind::Fin if event.len > 0 => {
            format!("FIN + {}", data_label(event, max_chars.saturating_sub(6)))
        }
        kind => kind.label().to_string(),
    };
    if event.retransmission {
        text.push_str(" (retransmission)");
    }
    if event.window_update {
        text.push_str(" (window update)");
    }
    text
}

fn data_label(event: &Event, max_chars: usize) -> String {
    let size = show::bytes(event.len.into());
    let room = max_chars.saturating_sub(size.len() + 2).max(8);
    format!("{size}  {}", show::preview(&event.payload, event.len, room))
}

fn text_arrow(direction: Direction, label: &str) -> String {
    let label_len = label.chars().count();
    let inner = TEXT_LANE;
    let body = inner.saturating_sub(label_len + 2).max(4);
    let left = body / 2;
    let right = body - left;
    match direction {
        Direction::ClientToServer => format!(
            "|{} {label} {}▶|",
            "─".repeat(left),
            "─".repeat(right.saturating_sub(1))
        ),
        Direction::ServerToClient => format!(
            "|◀{} {label} {}|",
            "─".repeat(left.saturating_sub(1)),
            "─".repeat(right)
        ),
    }
}

const SVG_WIDTH: u32 = 880;
const SVG_CLIENT_X: u32 = 200;
const SVG_SERVER_X: u32 = 700;
const SVG_HEADER: u32 = 84;
const SVG_ROW: u32 = 30;
const SVG_SLOPE: u32 = 10;
const RED: &str = "#d00000";

fn svg(diagram: &Diagram, id: &str) -> String {
    let d = diagram;
    let footer = 56;
    let height = SVG_HEADER + SVG_ROW * d.rows.len() as u32 + footer;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{SVG_WIDTH}" height="{height}" viewBox="0 0 {SVG_WIDTH} {height}" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="13" role="img" aria-labelledby="ladder-title-{id}">"#,
    );
    let _ = writeln!(
        out,
        "<title id=\"ladder-title-{id}\">TCP connection {}: client {} to server {}, {} packets</title>",
        d.connection,
        escape(&d.client),
        escape(&d.server),
        d.packets
    );
    let marker = |color: &str, fill: &str| {
        format!(
            r#"<marker id="head-{color}-{id}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="10" markerHeight="10" markerUnits="userSpaceOnUse" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{fill}"/></marker>"#
        )
    };
    let _ = writeln!(
        out,
        "<defs>{}{}{}{}{}</defs>",
        marker("red", RED),
        marker("grey", "#8a8a8a"),
        marker("blue", "#1f4e9a"),
        marker("black", "#222222"),
        marker("orange", "#b35900")
    );
    let _ = writeln!(
        out,
        r##"<rect width="100%" height="100%" fill="#ffffff"/>"##
    );
    // Lane headers and lanes.
    let lane_bottom = height - footer + 8;
    for (x, role, address) in [
        (SVG_CLIENT_X, "client", &d.client),
        (SVG_SERVER_X, "server", &d.server),
    ] {
        let _ = writeln!(
            out,
            r##"<rect x="{}" y="8" width="180" height="46" rx="6" fill="#eef2f8" stroke="#1f4e9a"/><text x="{x}" y="27" text-anchor="middle" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-weight="bold" font-size="14">{role}</text><text x="{x}" y="45" text-anchor="middle">{}</text>"##,
            x - 90,
            escape(address)
        );
        let _ = writeln!(
            out,
            r##"<line x1="{x}" y1="54" x2="{x}" y2="{lane_bottom}" stroke="#1f4e9a" stroke-width="2"/>"##
        );
    }
    let _ = writeln!(
        out,
        r##"<text x="12" y="{}" fill="#555555" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">time (s)</text>"##,
        SVG_HEADER - 12
    );
    for (row, item) in d.rows.iter().enumerate() {
        let y = SVG_HEADER + SVG_ROW * row as u32 + 8;
        let arrow = match item {
            Row::Packet(arrow) => arrow,
            Row::Gap { packets } => {
                let _ = writeln!(
                    out,
                    r##"<text x="{}" y="{}" text-anchor="middle" fill="#555555" font-style="italic">⋮ {} not drawn (the capture file has every packet) ⋮</text>"##,
                    (SVG_CLIENT_X + SVG_SERVER_X) / 2,
                    y + SVG_SLOPE / 2 + 4,
                    escape(&show::count(*packets, "packet"))
                );
                continue;
            }
        };
        let (color, head, width) = if arrow.marked {
            (RED, "red", 2.5)
        } else {
            match arrow.kind {
                EventKind::Ack => ("#8a8a8a", "grey", 1.2),
                EventKind::Data => ("#222222", "black", 1.8),
                EventKind::Rst => ("#b35900", "orange", 2.0),
                _ => ("#1f4e9a", "blue", 1.8),
            }
        };
        let (x1, x2) = match arrow.direction {
            Direction::ClientToServer => (SVG_CLIENT_X, SVG_SERVER_X),
            Direction::ServerToClient => (SVG_SERVER_X, SVG_CLIENT_X),
        };
        let dash = if arrow.retransmission {
            r#" stroke-dasharray="6 4""#
        } else {
            ""
        };
        let _ = writeln!(
            out,
            r##"<text x="12" y="{}" fill="#555555">{}</text>"##,
            y + SVG_SLOPE / 2 + 4,
            arrow.at()
        );
        let _ = writeln!(
            out,
            r#"<line x1="{x1}" y1="{y}" x2="{x2}" y2="{}" stroke="{color}" stroke-width="{width}"{dash} marker-end="url(#head-{head}-{id})"><title>frame {} · {} · seq {} ack {} win {}</title></line>"#,
            y + SVG_SLOPE,
            arrow.frame,
            escape(&arrow.flags),
            arrow.seq,
            arrow.ack,
            arrow.window
        );
        let text = if arrow.marked {
            format!("✗ {}", arrow.label)
        } else {
            arrow.label.clone()
        };
        let weight = if arrow.marked || arrow.kind != EventKind::Ack {
            "bold"
        } else {
            "normal"
        };
        let _ = writeln!(
            out,
            r#"<text x="{}" y="{}" text-anchor="middle" fill="{color}" font-weight="{weight}">{}</text>"#,
            (SVG_CLIENT_X + SVG_SERVER_X) / 2,
            y + SVG_SLOPE / 2 - 4,
            escape(&text)
        );
    }
    let legend_y = height - footer + 30;
    let mut legend = format!(
        "{} packets over {} s",
        d.packets,
        show::seconds(Duration::from_nanos(d.duration_ns))
    );
    if d.acks_left_out > 0 {
        legend.push_str(&format!(" ({} pure ACKs not shown)", d.acks_left_out));
    }
    let _ = writeln!(
        out,
        r##"<text x="12" y="{legend_y}" fill="#555555" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">{}</text>"##,
        escape(&legend)
    );
    if d.has_marks() {
        let _ = writeln!(
            out,
            r##"<text x="{}" y="{legend_y}" text-anchor="end" fill="{RED}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">✗ red: a packet a failed check points at</text>"##,
            SVG_WIDTH - 12
        );
    }
    out.push_str("</svg>\n");
    out
}

/// Text made safe for XML.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if (c as u32) < 0x20 => {}
            c => out.push(c),
        }
    }
    out
}
