use socklab_report::{HumanOptions, render_human};

use crate::fixtures::*;

const PLAIN: HumanOptions = HumanOptions {
    verbose: false,
    color: false,
};

/// The first line with `needle` in the scenario table (after the "What
/// failed" list, which names scenarios too).
fn line_with<'a>(text: &'a str, needle: &str) -> &'a str {
    let table = text.find("\nScenarios\n").map_or(text, |at| &text[at..]);
    table
        .lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{text}"))
}

#[test]
fn passing_report_shows_scaled_points_and_total() {
    let text = render_human(&passing(), &PLAIN);
    assert!(text.contains("socklab report for alice (lab3)"), "{text}");
    assert!(text.contains("isolation: namespaces"), "{text}");
    // 4 of 10 scenario points, scaled to a total of 30.
    let daytime = line_with(&text, "daytime");
    assert!(
        daytime.contains("PASS") && daytime.ends_with("12 / 12"),
        "{daytime}"
    );
    assert!(line_with(&text, "lottery").ends_with("18 / 18"));
    assert!(line_with(&text, "echo-zombies").contains("INFO"));
    assert!(text.contains("score: 30 / 30"), "{text}");
    assert!(text.contains("2 of 2 scored scenarios passed"), "{text}");
    assert!(!text.contains("BUILD FAILED"));
}

#[test]
fn failed_check_shows_sent_expected_got_hint_and_source() {
    let text = render_human(&troubled(), &PLAIN);
    assert!(line_with(&text, "lottery").contains("FAIL"));
    assert!(line_with(&text, "lottery").ends_with("1.5 / 6"));
    assert!(
        text.contains("✗ LotteryClient prints the reply  (step 4)"),
        "{text}"
    );
    assert!(text.contains("the reply was not printed as sent"));
    assert!(text.contains("sent:     3\\n\n"), "{text}");
    assert!(text.contains("expected: You won\n"));
    // Never trimmed: the trailing spaces the student printed stay.
    assert!(text.contains("got:      You lost  \n"), "{text}");
    assert!(text.contains("hint:     print exactly the bytes read from the socket"));
    assert!(
        text.contains("source:   scenarios/lab3/lottery.yaml:14"),
        "{text}"
    );
    assert!(text.contains("3 later checks not reached"));
    // The passed check and the not-reached ones are not detailed.
    assert!(!text.contains("server accepts a connection"));
    assert!(!text.contains("later check\n"));
}

#[test]
fn build_problems_come_first_with_compiler_output() {
    let text = render_human(&troubled(), &PLAIN);
    let build = text.find("BUILD FAILED").expect("build section");
    let scenarios = text.find("Scenarios").expect("scenario section");
    assert!(build < scenarios);
    assert!(text.contains("FTClient"));
    assert!(
        text.contains("    | FTClient.c:12:5: error: expected ';' before 'return'"),
        "{text}"
    );
    // Programs that built are not listed as problems.
    assert!(!text[build..scenarios].contains("LotteryServer"));
}

#[test]
fn skipped_observed_and_error_scenarios_say_why() {
    let text = render_human(&troubled(), &PLAIN);
    assert!(line_with(&text, "ft-two-hosts").contains("SKIP"));
    assert!(
        text.contains("skipped: needs separate hosts, unavailable at isolation level loopback")
    );
    assert!(line_with(&text, "echo-zombies").contains("not scored"));
    assert!(text.contains("• zombie children after 5 clients: 3 zombie processes left"));
    assert!(text.contains("observed: 3 <defunct> children of tcpserv"));
    assert!(line_with(&text, "echo ").contains("ERROR"));
    assert!(
        text.contains(
            "socklab error (not your fault): could not create a network namespace: EPERM"
        )
    );
    assert!(text.contains("reason: FTClient did not build"));
    assert!(text.contains("score: 5.5 / 30"));
    assert!(text.contains("note: user namespaces denied by AppArmor"));
}

#[test]
fn verbose_adds_transcripts() {
    let quiet = render_human(&troubled(), &PLAIN);
    let verbose = render_human(
        &troubled(),
        &HumanOptions {
            verbose: true,
            color: false,
        },
    );
    assert!(!quiet.contains("got command 3"));
    assert!(verbose.contains("transcript: peer server"));
    assert!(verbose.contains("| got command 3\n"), "{verbose}");
    assert!(verbose.contains("| sent: You won\n"));
}

#[test]
fn color_only_when_asked() {
    let plain = render_human(&troubled(), &PLAIN);
    assert!(!plain.contains('\u{1b}'));
    let color = render_human(
        &troubled(),
        &HumanOptions {
            verbose: false,
            color: true,
        },
    );
    assert!(color.contains("\u{1b}[1;31mFAIL \u{1b}[0m"), "{color}");
    assert!(color.contains("\u{1b}[32mPASS \u{1b}[0m"));
}

#[test]
fn hostile_control_bytes_cannot_drive_the_terminal() {
    let text = render_human(
        &hostile(),
        &HumanOptions {
            verbose: true,
            color: false,
        },
    );
    assert!(!text.contains('\u{0}') && !text.contains('\u{1b}') && !text.contains('\u{7}'));
    assert!(!text.contains('\r'));
    assert!(text.contains("\\x00\\x1b[2J"), "{text}");
    assert!(text.contains("bell\\r"), "{text}");
}

#[test]
fn empty_and_broken_reports_say_so() {
    let text = render_human(&empty(), &PLAIN);
    assert!(text.contains("No scenario ran."));
    assert!(text.contains("score: 0 / 30"));
    let text = render_human(&harness_broken(), &PLAIN);
    assert!(text.contains("socklab could not run any scenario"));
}

#[test]
fn a_failed_packet_check_shows_its_ladder_and_v_shows_every_ladder() {
    let text = render_human(&with_packets(), &PLAIN);
    assert!(
        text.contains(
            "         connection 1: client 127.0.0.1:52875 → server 127.0.0.1:1235 (7 packets over 0.000900 s)\n"
        ),
        "{text}"
    );
    // Compact: no packet that only acknowledges.
    assert!(text.contains("✗   0.000300 |"), "{text}");
    assert!(!text.contains(" ACK "), "{text}");
    assert!(
        text.contains("(2 packets that only acknowledge not shown)"),
        "{text}"
    );
    assert!(!text.contains("packets/lottery_session.pcapng"));
    let verbose = render_human(
        &with_packets(),
        &HumanOptions {
            verbose: true,
            color: false,
        },
    );
    assert!(
        verbose.contains("packets:  packets/lottery_session.pcapng · 7 TCP packets captured."),
        "{verbose}"
    );
    assert!(verbose.contains("(2 more connections not drawn)"));
    // Without a capture, nothing is drawn.
    assert!(!render_human(&passing(), &PLAIN).contains("connection 1:"));
}
