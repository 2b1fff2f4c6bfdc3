use socklab_report::render_html;

use crate::fixtures::*;

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

/// The markup of a page: every `<...>` (text is escaped, so every `<` opens a tag).
fn tags(html: &str) -> Vec<&str> {
    html.split('<')
        .skip(1)
        .map(|rest| &rest[..rest.find('>').expect("tag closed")])
        .collect()
}

#[test]
fn hostile_strings_are_escaped() {
    let html = render_html(&hostile());
    let lower = html.to_lowercase();
    assert!(!lower.contains("<script"), "{html}");
    assert!(!lower.contains("<img"));
    assert!(!lower.contains("<b>"));
    assert!(!html.contains('\u{0}') && !html.contains('\u{1b}') && !html.contains('\u{7}'));
    assert!(html.contains("&lt;/pre&gt;&lt;script&gt;alert(&#39;sent&#39;)&lt;/script&gt;"));
    assert!(html.contains("\\x00\\x1b[2J"));
    assert!(
        html.contains("<title>socklab feedback: Doe, &quot;JJ&quot;\\n&lt;/pre&gt;"),
        "{html}"
    );
}

#[test]
fn page_is_self_contained_and_balanced() {
    for report in all() {
        let html = render_html(&report);
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("Content-Security-Policy"));
        for tag in tags(&html) {
            let tag = tag.to_lowercase();
            let name = tag
                .trim_start_matches('/')
                .split([' ', '\n'])
                .next()
                .unwrap();
            assert!(
                [
                    "!doctype",
                    "html",
                    "head",
                    "meta",
                    "title",
                    "style",
                    "body",
                    "header",
                    "h1",
                    "h2",
                    "h3",
                    "p",
                    "ul",
                    "li",
                    "strong",
                    "section",
                    "table",
                    "tr",
                    "th",
                    "td",
                    "a",
                    "span",
                    "pre",
                    "details",
                    "summary",
                    "ol",
                    "dl",
                    "dt",
                    "dd",
                    "br",
                    // The ladders, inline SVG.
                    "figure",
                    "figcaption",
                    "svg",
                    "defs",
                    "marker",
                    "path",
                    "rect",
                    "text",
                    "line",
                    "footer",
                ]
                .contains(&name),
                "unexpected tag <{tag}> for {}",
                report.submission
            );
            assert!(!tag.contains("src=") && !tag.contains(" on"), "<{tag}>");
            if let Some(href) = tag.split("href=\"").nth(1) {
                assert!(
                    href.starts_with("#scenario-") || href.starts_with("packets/"),
                    "external link <{tag}>"
                );
            }
        }
        let style = &html[html.find("<style>").unwrap()..html.find("</style>").unwrap()];
        assert!(!style.contains("url(") && !style.contains("@import"));
        for tag in ["pre", "section", "details", "table", "ol", "dl", "li", "p"] {
            assert_eq!(
                count(&html, &format!("<{tag}>")) + count(&html, &format!("<{tag} ")),
                count(&html, &format!("</{tag}>")),
                "<{tag}> unbalanced for {}",
                report.submission
            );
        }
    }
}

#[test]
fn shows_what_passed_and_failed() {
    let html = render_html(&troubled());
    assert!(html.contains("Score: 5.5 / 30"));
    assert!(html.contains("<span class=\"verdict v-fail\">FAIL</span>"));
    assert!(html.contains("<span class=\"verdict v-pass\">PASS</span>"));
    assert!(html.contains("✓ <strong>server accepts a connection</strong>"));
    assert!(
        html.contains("<dt>got</dt><dd><pre>\nYou lost  </pre></dd>"),
        "{html}"
    );
    assert!(html.contains("<dt>hint</dt><dd>print exactly the bytes read from the socket</dd>"));
    assert!(html.contains("scenarios/lab3/lottery.yaml:14"));
    assert!(html.contains("3 later checks not reached"));
    assert!(html.contains("<summary>Transcript: peer server</summary>"));
    assert!(html.contains("<h2>Build failed</h2>"));
    assert!(html.contains("expected &#39;;&#39; before &#39;return&#39;"));
    assert!(html.contains("<strong>Skipped:</strong> needs separate hosts"));
}

#[test]
fn packets_are_drawn_as_inline_svg_with_the_failed_packet_red() {
    let html = render_html(&with_packets());
    assert_eq!(count(&html, "<svg xmlns="), 1, "{html}");
    // Ids are unique in the page: the scenario's index is in them.
    assert!(html.contains("id=\"head-red-s0-c1\""), "{html}");
    assert!(html.contains("stroke=\"#d00000\""));
    assert!(html.contains("✗ 2 bytes  &quot;0\\n&quot;"), "{html}");
    // A payload cannot break out of the SVG.
    assert!(html.contains("&lt;/svg&gt;&lt;b&gt;&amp;"), "{html}");
    assert!(!html.contains("</svg><b>"));
    // Open, since a failed check points at a packet; the file is linked.
    assert!(html.contains("<details class=\"packets\" open>"), "{html}");
    assert!(html.contains("<summary>Packets: 3 TCP connections (ladder diagrams)</summary>"));
    assert!(html.contains("<a href=\"packets/lottery_session.pcapng\">"));
    assert!(html.contains("7 TCP packets captured. Nothing was cut."));
    assert!(html.contains("2 more connections not drawn (the capture file has them)."));
    assert!(html.contains("<figcaption>connection 1: client 127.0.0.1:52875 → server 127.0.0.1:1235 (7 packets over 0.000900 s)</figcaption>"), "{html}");
    // The skipped packet check says why.
    assert!(
        html.contains("⏭ <strong>the server closes first</strong>"),
        "{html}"
    );
    assert!(html.contains("skipped: packet capture is unavailable"));
    // Without a failed packet check the ladders are folded.
    let mut calm = with_packets();
    if let Some(packets) = &mut calm.scenarios[0].packets {
        packets.connections[0] = packets.connections[0].without_pure_acks();
        for row in &mut packets.connections[0].rows {
            if let socklab_packets::ladder::Row::Packet(a) = row {
                a.marked = false;
            }
        }
    }
    assert!(render_html(&calm).contains("<details class=\"packets\">"));
}
