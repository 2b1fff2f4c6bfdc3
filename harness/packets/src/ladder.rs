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

use crate::checks::{Outcome, Verdict};
use crate::conversation::{Connection, Direction, Event, EventKind};
use crate::show;

/// Width of the space between the two lanes in the text rendering.
const TEXT_LANE: usize = 58;

/// How to draw one connection.
#[derive(Debug, Clone)]
pub struct Ladder<'a> {
    connection: &'a Connection,
    marked: BTreeSet<usize>,
    pure_acks: bool,
}

impl<'a> Ladder<'a> {
    /// Every packet of the connection, none marked.
    pub fn new(connection: &'a Connection) -> Ladder<'a> {
        Ladder {
            connection,
            marked: BTreeSet::new(),
            pure_acks: true,
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

    fn shown(&self) -> impl Iterator<Item = &'a Event> + '_ {
        self.connection.events.iter().filter(|e| {
            self.pure_acks || e.kind() != EventKind::Ack || self.marked.contains(&e.index)
        })
    }

    /// The ladder as monospaced text, about 80 columns wide.
    pub fn text(&self) -> String {
        let c = self.connection;
        let mut out = String::new();
        let lanes = TEXT_LANE + 2;
        let left = format!("client {}", c.client);
        let right = format!("server {}", c.server);
        let gap = lanes
            .saturating_sub(left.chars().count() + right.chars().count())
            .max(1);
        let _ = writeln!(out, "{:13}{left}{}{right}", "", " ".repeat(gap));
        for event in self.shown() {
            let mark = if self.marked.contains(&event.index) {
                "✗"
            } else {
                " "
            };
            let arrow = text_arrow(event.direction, &label(event, TEXT_LANE - 6));
            let _ = writeln!(out, "{mark} {:>10} {arrow}", show::seconds(event.at));
        }
        let hidden = c.events.len() - self.shown().count();
        if hidden > 0 {
            let _ = writeln!(
                out,
                "{:13}({hidden} packets that only acknowledge not shown)",
                ""
            );
        }
        if !self.marked.is_empty() {
            let _ = writeln!(out, "{:13}✗ marks a packet a failed check points at", "");
        }
        out
    }

    /// A heading line and the text ladder in a fenced block.
    pub fn markdown(&self) -> String {
        let c = self.connection;
        format!(
            "**Connection {}**: client `{}` → server `{}` ({} packets over {} s)\n\n```text\n{}```\n",
            c.id,
            c.client,
            c.server,
            c.events.len(),
            show::seconds(c.duration()),
            self.text()
        )
    }

    /// The ladder as a standalone SVG image (also fit to inline in HTML).
    pub fn svg(&self) -> String {
        svg(self)
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

fn svg(ladder: &Ladder<'_>) -> String {
    let c = ladder.connection;
    let events: Vec<&Event> = ladder.shown().collect();
    let footer = 56;
    let height = SVG_HEADER + SVG_ROW * events.len() as u32 + footer;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{SVG_WIDTH}" height="{height}" viewBox="0 0 {SVG_WIDTH} {height}" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="13" role="img" aria-labelledby="ladder-title-{id}">"#,
        id = c.id
    );
    let _ = writeln!(
        out,
        "<title id=\"ladder-title-{}\">TCP connection {}: client {} to server {}, {} packets</title>",
        c.id,
        c.id,
        escape(&c.client.to_string()),
        escape(&c.server.to_string()),
        c.events.len()
    );
    let _ = writeln!(
        out,
        r##"<defs><marker id="head-red-{id}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="10" markerHeight="10" markerUnits="userSpaceOnUse" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{RED}"/></marker><marker id="head-grey-{id}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="10" markerHeight="10" markerUnits="userSpaceOnUse" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#8a8a8a"/></marker><marker id="head-blue-{id}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="10" markerHeight="10" markerUnits="userSpaceOnUse" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#1f4e9a"/></marker><marker id="head-black-{id}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="10" markerHeight="10" markerUnits="userSpaceOnUse" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#222222"/></marker><marker id="head-orange-{id}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="10" markerHeight="10" markerUnits="userSpaceOnUse" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#b35900"/></marker></defs>"##,
        id = c.id
    );
    let _ = writeln!(
        out,
        r##"<rect width="100%" height="100%" fill="#ffffff"/>"##
    );
    // Lane headers and lanes.
    let lane_bottom = height - footer + 8;
    for (x, role, address) in [
        (SVG_CLIENT_X, "client", c.client.to_string()),
        (SVG_SERVER_X, "server", c.server.to_string()),
    ] {
        let _ = writeln!(
            out,
            r##"<rect x="{}" y="8" width="180" height="46" rx="6" fill="#eef2f8" stroke="#1f4e9a"/><text x="{x}" y="27" text-anchor="middle" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-weight="bold" font-size="14">{role}</text><text x="{x}" y="45" text-anchor="middle">{}</text>"##,
            x - 90,
            escape(&address)
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
    for (row, event) in events.iter().enumerate() {
        let y = SVG_HEADER + SVG_ROW * row as u32 + 8;
        let marked = ladder.marked.contains(&event.index);
        let (color, head, width) = if marked {
            (RED, format!("head-red-{}", c.id), 2.5)
        } else {
            match event.kind() {
                EventKind::Ack => ("#8a8a8a", format!("head-grey-{}", c.id), 1.2),
                EventKind::Data => ("#222222", format!("head-black-{}", c.id), 1.8),
                EventKind::Rst => ("#b35900", format!("head-orange-{}", c.id), 2.0),
                _ => ("#1f4e9a", format!("head-blue-{}", c.id), 1.8),
            }
        };
        let (x1, x2) = match event.direction {
            Direction::ClientToServer => (SVG_CLIENT_X, SVG_SERVER_X),
            Direction::ServerToClient => (SVG_SERVER_X, SVG_CLIENT_X),
        };
        let dash = if event.retransmission {
            r#" stroke-dasharray="6 4""#
        } else {
            ""
        };
        let _ = writeln!(
            out,
            r##"<text x="12" y="{}" fill="#555555">{}</text>"##,
            y + SVG_SLOPE / 2 + 4,
            show::seconds(event.at)
        );
        let _ = writeln!(
            out,
            r#"<line x1="{x1}" y1="{y}" x2="{x2}" y2="{}" stroke="{color}" stroke-width="{width}"{dash} marker-end="url(#{head})"><title>frame {} · {} · seq {} ack {} win {}</title></line>"#,
            y + SVG_SLOPE,
            event.frame,
            escape(&event.flags.names()),
            event.seq,
            event.ack,
            event.window
        );
        let text = label(event, 60);
        let text = if marked { format!("✗ {text}") } else { text };
        let weight = if marked || event.kind() != EventKind::Ack {
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
        c.events.len(),
        show::seconds(c.duration())
    );
    let hidden = c.events.len() - events.len();
    if hidden > 0 {
        legend.push_str(&format!(" ({hidden} pure ACKs not shown)"));
    }
    let _ = writeln!(
        out,
        r##"<text x="12" y="{legend_y}" fill="#555555" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">{}</text>"##,
        escape(&legend)
    );
    if !ladder.marked.is_empty() {
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
