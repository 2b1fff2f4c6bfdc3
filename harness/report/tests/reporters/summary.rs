use socklab_report::render_class_summary;

use crate::fixtures::*;

#[test]
fn summarises_scores_pass_rates_and_problems() {
    let text = render_class_summary(&[passing(), troubled(), empty(), harness_broken()]);
    assert!(
        text.starts_with("socklab class summary: lab3, 4 submissions\n"),
        "{text}"
    );
    // Scores 30, 5.5, 0, 0: mean 8.88, median 2.75.
    assert!(
        text.contains("score (points out of 30): mean 8.88, median 2.75, min 0, max 30"),
        "{text}"
    );
    assert!(text.contains("passed everything: 1\n"));
    assert!(text.contains("build failed: 1 (bob)"));
    assert!(text.contains("no scenario ran: 1 (carol)"));
    assert!(text.contains("socklab failed on every scenario: 1 (dave)"));
    assert!(text.contains("some socklab errors: 1 (bob)"));
    let daytime = text
        .lines()
        .find(|l| l.starts_with("daytime "))
        .expect("daytime row");
    // alice and bob passed, dave errored: 2 of 3 ran.
    assert!(daytime.ends_with("67%"), "{daytime}");
    let zombies = text
        .lines()
        .find(|l| l.starts_with("echo-zombies"))
        .expect("observe row");
    assert!(
        zombies.contains("(observe)") && zombies.ends_with("2 observed"),
        "{zombies}"
    );
}

#[test]
fn empty_batch() {
    assert_eq!(
        render_class_summary(&[]),
        "socklab class summary: no lab, 0 submissions\n"
    );
}
