//! Ladders: the text, Markdown and SVG renderings of a connection, with
//! the packets a failed check points at marked.

mod common;

use common::{From, Script};
use socklab_packets::checks;
use socklab_packets::{Ladder, Side};

fn server_closes_first() -> socklab_packets::Conversation {
    let mut script = Script::new("127.0.0.1:52875", "127.0.0.1:12345");
    script
        .handshake()
        .send(From::Client, &[0; 4])
        .send(From::Server, b"New number generated: 17")
        .close(From::Server);
    script.conversation()
}

#[test]
fn text_shows_every_packet_with_time_size_and_first_bytes() {
    let conversation = server_closes_first();
    let c = &conversation.connections[0];
    let verdict = checks::close_order(c, Side::Client);
    let text = Ladder::new(c).mark_failures([&verdict]).text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0].trim(),
        "client 127.0.0.1:52875                server 127.0.0.1:12345"
    );
    assert_eq!(
        lines[1],
        "    0.000000 |────────────────────────── SYN ──────────────────────────▶|"
    );
    assert_eq!(
        lines[2],
        "    0.000100 |◀─────────────────────── SYN-ACK ─────────────────────────|"
    );
    assert_eq!(
        lines[4],
        "    0.000300 |────────────────── 4 bytes  00 00 00 00 ─────────────────▶|"
    );
    assert_eq!(
        lines[6],
        "    0.000500 |◀───────── 24 bytes  \"New number generated: 17\" ──────────|"
    );
    assert_eq!(
        lines[8],
        "✗   0.000700 |◀───────────────────────── FIN ───────────────────────────|"
    );
    assert!(
        text.ends_with("✗ marks a packet a failed check points at\n"),
        "{text}"
    );
    // Every line has the same width.
    let widths: Vec<usize> = lines[1..=c.events.len()]
        .iter()
        .map(|l| l.chars().count())
        .collect();
    assert!(widths.iter().all(|w| *w == widths[0]), "{widths:?}");

    let short = Ladder::new(c).without_pure_acks().text();
    assert!(!short.contains(" ACK "), "{short}");
    assert!(
        short.contains("(5 packets that only acknowledge not shown)"),
        "{short}"
    );
}

#[test]
fn markdown_fences_the_text_under_a_heading() {
    let conversation = server_closes_first();
    let markdown = Ladder::new(&conversation.connections[0]).markdown();
    assert!(markdown.starts_with(
        "**Connection 1**: client `127.0.0.1:52875` → server `127.0.0.1:12345` (11 packets over 0.001000 s)\n\n```text\n"
    ), "{markdown}");
    assert!(markdown.ends_with("```\n"));
}

#[test]
fn svg_draws_marked_packets_in_red_and_escapes_payload() {
    let mut script = Script::new("127.0.0.1:52875", "127.0.0.1:12345");
    script
        .handshake()
        .send(From::Client, b"<b>&\"x\"</b>\n")
        .close(From::Client);
    let conversation = script.conversation();
    let c = &conversation.connections[0];
    let svg = Ladder::new(c).mark([3]).svg();
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(svg.trim_end().ends_with("</svg>"));
    assert!(
        svg.contains("&lt;b&gt;&amp;\\&quot;x\\&quot;&lt;/b&gt;\\n"),
        "{svg}"
    );
    assert!(!svg.contains("<b>"));
    assert_eq!(
        svg.matches("<line x1=\"200\"").count() + svg.matches("<line x1=\"700\"").count(),
        c.events.len() + 2
    );
    let red_arrows = svg.matches("stroke=\"#d00000\"").count();
    assert_eq!(red_arrows, 1, "one marked packet");
    assert!(svg.contains("✗ 12 bytes"), "{svg}");
    assert!(svg.contains("✗ red: a packet a failed check points at"));
    let unmarked = Ladder::new(c).svg();
    assert_eq!(unmarked.matches("stroke=\"#d00000\"").count(), 0);
}

#[test]
fn a_diagram_keeps_what_the_renderings_need_and_reads_back_from_json() {
    let conversation = server_closes_first();
    let c = &conversation.connections[0];
    let verdict = checks::close_order(c, Side::Client);
    let ladder = Ladder::new(c).mark_failures([&verdict]);
    let diagram = ladder.diagram();
    assert_eq!(diagram.text(), ladder.text());
    assert_eq!(diagram.svg(), ladder.svg());
    assert!(diagram.has_marks());
    let json = serde_json::to_string(&diagram).unwrap();
    let back: socklab_packets::ladder::Diagram = serde_json::from_str(&json).unwrap();
    assert_eq!(back, diagram);
    assert_eq!(back.text(), ladder.text());
    // The compact form is the ladder without the packets that only acknowledge.
    assert_eq!(
        diagram.without_pure_acks().text(),
        Ladder::new(c)
            .mark_failures([&verdict])
            .without_pure_acks()
            .text()
    );
    assert_eq!(
        diagram.heading(),
        "connection 1: client 127.0.0.1:52875 → server 127.0.0.1:12345 (11 packets over 0.001000 s)"
    );
    // Two ladders in one page get ids of their own.
    let svg = diagram.svg_with_id("s3-c1");
    assert!(svg.contains("id=\"head-red-s3-c1\"") && svg.contains("url(#head-red-s3-c1)"));
}

/// A connection of 40 4-byte commands from the client, then its close.
fn forty_commands() -> socklab_packets::conversation::Conversation {
    let mut script = Script::new("127.0.0.1:52875", "127.0.0.1:12345");
    script.handshake();
    for i in 0..40u8 {
        script.send(From::Client, &[i; 4]);
    }
    script.close(From::Client);
    script.conversation()
}

/// The index of the command whose bytes are all 20, in the middle.
fn twentieth_command(c: &socklab_packets::conversation::Connection) -> usize {
    c.events
        .iter()
        .find(|e| e.len == 4 && e.payload[0] == 20)
        .unwrap()
        .index
}

#[test]
fn a_long_connection_is_drawn_head_and_tail_with_marked_packets_and_a_gap() {
    let conversation = forty_commands();
    let c = &conversation.connections[0];
    let middle = twentieth_command(c);
    let diagram = Ladder::new(c).mark([middle]).at_most(12).diagram();
    let arrows = diagram
        .rows
        .iter()
        .filter(|r| matches!(r, socklab_packets::ladder::Row::Packet(_)))
        .count();
    assert_eq!(arrows, 13, "8 first, 4 last and the marked one");
    assert_eq!(arrows + diagram.gap_packets(), c.events.len());
    let text = diagram.text();
    assert!(text.contains("packets not drawn ⋮"), "{text}");
    assert!(text.contains("✗"), "{text}");
    assert!(text.lines().nth(1).unwrap().contains("SYN"));
    assert!(
        diagram
            .svg()
            .contains("not drawn (the capture file has every packet)")
    );
}

#[test]
fn a_drawn_diagram_shortens_again_keeping_head_tail_and_marks() {
    let conversation = forty_commands();
    let c = &conversation.connections[0];
    let middle = twentieth_command(c);
    let long = Ladder::new(c).mark([middle]).at_most(30).diagram();
    let short = long.clone().at_most(9);
    let arrows: Vec<_> = short
        .rows
        .iter()
        .filter_map(|r| match r {
            socklab_packets::ladder::Row::Packet(a) => Some(a),
            _ => None,
        })
        .collect();
    assert_eq!(arrows.len(), 10, "6 first, 3 last and the marked one");
    assert_eq!(arrows.len() + short.gap_packets(), c.events.len());
    assert!(arrows.iter().any(|a| a.marked));
    assert_eq!(arrows[0].label, "SYN");
    // Gaps never follow one another.
    assert!(short.rows.windows(2).all(|w| !matches!(
        w,
        [
            socklab_packets::ladder::Row::Gap { .. },
            socklab_packets::ladder::Row::Gap { .. }
        ]
    )));
    // Already short enough: unchanged.
    assert_eq!(short.clone().at_most(40), short);
}
