use socklab_report::render_markdown;

use crate::fixtures::*;

/// Lines outside fenced code blocks: what Markdown interprets.
fn prose_lines(markdown: &str) -> Vec<&str> {
    let mut fence: Option<usize> = None;
    let mut prose = Vec::new();
    for line in markdown.lines() {
        let ticks = line.chars().take_while(|&c| c == '`').count();
        match fence {
            Some(open) if ticks >= open && line.trim_start_matches('`').trim().is_empty() => {
                fence = None
            }
            Some(_) => {}
            None if ticks >= 3 => fence = Some(ticks),
            None => prose.push(line),
        }
    }
    assert!(fence.is_none(), "unclosed code block in:\n{markdown}");
    prose
}

/// The line without the anchors and in-page links the reporter itself
/// writes (`<a id="scenario-3"></a>`, `[name](#scenario-3)`): every `[`
/// inside a name is escaped, so the last unescaped one before `](#scenario-`
/// opens our link.
fn without_our_links(line: &str) -> String {
    let mut line = line.to_string();
    while let Some(start) = line.find("<a id=\"scenario-") {
        let end = start + line[start..].find("</a>").expect("closed anchor") + 4;
        line.replace_range(start..end, "");
    }
    while let Some(close) = line.find("](#scenario-") {
        let end = close + line[close..].find(')').expect("closed link") + 1;
        let bytes = line.as_bytes();
        let open = (0..close)
            .rev()
            .find(|&i| bytes[i] == b'[' && (i == 0 || bytes[i - 1] != b'\\'))
            .expect("an opening bracket");
        let name = line[open + 1..close].to_string();
        line.replace_range(open..end, &name);
    }
    line
}

#[test]
fn feedback_has_table_details_and_transcripts() {
    let md = render_markdown(&troubled());
    assert!(md.starts_with("# socklab feedback: bob\n"));
    assert!(md.contains("**Score: 5.5 / 30**"));
    assert!(md.contains("| Result | Scenario | Points |"));
    assert!(
        md.contains("| ❌ FAIL | [lottery](#scenario-1) | 1.5 / 6 |"),
        "{md}"
    );
    assert!(
        md.contains("| ⏭️ SKIP | [ft-two-hosts](#scenario-2) | 0 / 5 |"),
        "{md}"
    );
    assert!(
        md.contains("| ℹ️ INFO | [echo-zombies](#scenario-3) | not scored |"),
        "{md}"
    );
    assert!(md.contains("| ⚠️ ERROR | [echo](#scenario-4) | 0 / 5 |"));
    assert!(
        md.contains("```text\nsent:     3\\n\nexpected: You won\ngot:      You lost  \n```\n"),
        "{md}"
    );
    assert!(md.contains("**Hint:** print exactly the bytes read from the socket"));
    assert!(md.contains("scenarios/lab3/lottery.yaml:14"));
    assert!(md.contains("_3 later checks not reached._"));
    assert!(md.contains("<details>\n<summary>Transcript: peer server</summary>\n\n```text\ngot command 3\nsent: You won\n```\n"), "{md}");
    assert!(md.contains("## ❌ Build failed"));
    assert!(md.contains("```text\nFTClient.c: In function 'main':"));
    assert!(md.find("Build failed").unwrap() < md.find("## Scenarios").unwrap());
    assert!(md.contains("**Skipped:** needs separate hosts"));
    assert!(md.contains("observed: 3 <defunct> children of tcpserv"));
}

#[test]
fn hostile_text_stays_text() {
    let md = render_markdown(&hostile());
    for line in prose_lines(&md) {
        let outside_our_tags = without_our_links(line)
            .replace("<details>", "")
            .replace("</details>", "")
            .replace("<summary>", "")
            .replace("</summary>", "");
        let mut prev = ' ';
        for c in outside_our_tags.chars() {
            // Every `<`, `[` and backtick in prose is escaped, so nothing
            // renders as HTML, a link or code.
            assert!(
                !matches!(c, '<' | '[' | '`') || prev == '\\',
                "unescaped {c:?} in prose line {line:?}"
            );
            prev = c;
        }
        assert!(!line.contains('\u{0}') && !line.contains('\u{1b}'));
    }
    assert!(
        md.contains("<summary>Transcript: &lt;/summary&gt;&lt;script&gt;"),
        "{md}"
    );
    // The transcript holds a run of 4 backticks, so its fence has 5.
    assert!(
        md.contains("`````text\n</details><script>alert('t')</script>\n````\n\\x07bell\\r\n`````"),
        "{md}"
    );
}

#[test]
fn passing_feedback_is_short() {
    let md = render_markdown(&passing());
    assert!(md.contains("| ✅ PASS | daytime | 12 / 12 |"), "{md}");
    // A passed scenario gets no details section, transcripts or not (they
    // stay in report.json).
    assert!(!md.contains("### ✅ PASS lottery"));
    assert!(!md.contains("### ✅ PASS daytime"), "{md}");
    assert!(!md.contains("Mon Jan  1 12:00:00 2024"), "{md}");
    assert!(render_markdown(&empty()).contains("No scenario ran."));
}

#[test]
fn packets_are_text_ladders_in_fenced_blocks() {
    let md = render_markdown(&with_packets());
    assert!(
        md.contains(
            "<details open>\n<summary>Packets: 3 TCP connections (ladder diagrams)</summary>\n"
        ),
        "{md}"
    );
    assert!(md.contains("Capture file (Wireshark): `packets/lottery_session.pcapng`"));
    assert!(md.contains(
        "**Connection 1**: client 127.0.0.1:52875 → server 127.0.0.1:1235 (7 packets over 0.000900 s)"
    ));
    assert!(
        md.contains("```text\n             client 127.0.0.1:52875"),
        "{md}"
    );
    assert!(md.contains("✗   0.000300 |"), "{md}");
    assert!(md.contains("✗ marks a packet a failed check points at"));
    assert!(md.contains("⋮ 1 packet not drawn ⋮"), "{md}");
    assert!(md.contains("_2 more not drawn (the capture file has them)._"));
    // The hostile payload is inside the fence only.
    for line in prose_lines(&md) {
        assert!(!line.contains("</svg>"), "{line}");
    }
}
