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
