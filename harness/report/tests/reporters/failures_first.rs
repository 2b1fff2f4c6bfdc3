//! Every student format leads with what failed: the first failure's reason
//! comes before the first passing scenario's row and before the isolation
//! notes. And prose (descriptions, titles, messages, reasons) never shows a
//! literal `\n` where the model held a line break.

use serde_json::Value;
use socklab_report::model::*;
use socklab_report::{HumanOptions, render_gradescope, render_html, render_human, render_markdown};

use crate::fixtures::*;

/// The first failed check's message in `troubled()`: its one-line reason.
const FIRST_REASON: &str = "the reply was not printed as sent";
/// The isolation note of `troubled()`.
const NOTE: &str = "user namespaces denied by AppArmor";

fn position(text: &str, needle: &str, format: &str) -> usize {
    text.find(needle)
        .unwrap_or_else(|| panic!("{format}: no {needle:?} in:\n{text}"))
}

#[test]
fn every_student_format_leads_with_what_failed() {
    let report = troubled();
    let human = render_human(&report, &HumanOptions::default());
    let formats = [
        ("human", human.clone(), "PASS   daytime"),
        ("markdown", render_markdown(&report), "| ✅ PASS | daytime"),
        (
            "html",
            render_html(&report),
            "<td><a href=\"#scenario-0\">daytime</a>",
        ),
        // Gradescope: the overview (`output`) precedes the tests, the
        // first of which is the passing `daytime`.
        (
            "gradescope",
            render_gradescope(&report),
            "\"name\": \"daytime\"",
        ),
    ];
    for (format, text, first_pass) in formats {
        let reason = position(&text, FIRST_REASON, format);
        let pass = position(&text, first_pass, format);
        let note = position(&text, NOTE, format);
        assert!(
            reason < pass,
            "{format}: the first pass comes before the first failure:\n{text}"
        );
        assert!(
            reason < note,
            "{format}: isolation notes come before the first failure:\n{text}"
        );
        assert!(
            pass < note || format == "gradescope",
            "{format}: isolation notes are not last:\n{text}"
        );
    }
    // The list names every scenario that lost points, the skipped and the
    // errored ones with their reasons, and says how many.
    assert!(
        human.contains("What failed (4 of 5 scored scenarios"),
        "{human}"
    );
    let list = &human[..human.find("\nScenarios\n").unwrap()];
    for line in [
        "FAIL   lottery       LotteryClient prints the reply: the reply was not printed as sent",
        "SKIP   ft-two-hosts  skipped: needs separate hosts",
        "ERROR  echo          socklab could not run it (not your fault): could not create",
        "FAIL   ft-transfer   FTClient did not build",
    ] {
        assert!(list.contains(line), "missing {line:?} in:\n{list}");
    }
    assert!(
        !list.contains("daytime") && !list.contains("echo-zombies"),
        "{list}"
    );
    // In Markdown and HTML each entry links to its scenario's details.
    let md = render_markdown(&report);
    assert!(md.contains("- ❌ [lottery](#scenario-1): LotteryClient prints the reply: the reply was not printed as sent\n"), "{md}");
    assert!(
        md.contains("<a id=\"scenario-1\"></a>\n\n### ❌ FAIL lottery"),
        "{md}"
    );
    let html = render_html(&report);
    assert!(
        html.contains("<a href=\"#scenario-1\">lottery</a>: LotteryClient prints the reply"),
        "{html}"
    );
    assert!(html.contains("id=\"scenario-1\""));
    // A passing submission has no such list.
    for text in [
        render_human(&passing(), &HumanOptions::default()),
        render_markdown(&passing()),
        render_html(&passing()),
    ] {
        assert!(!text.contains("What failed"), "{text}");
    }
}

/// A report whose description, titles, messages, reasons and notes hold
/// line breaks, as wrapped YAML and multi-line evidence do.
fn multiline() -> SubmissionReport {
    let mut report = troubled();
    report.isolation.notes = vec!["fixed ports:\nscenarios ran one at a time".to_string()];
    let lottery = &mut report.scenarios[1];
    lottery.description = Some("The client sends a command\nand prints the reply.\n".to_string());
    let failed = &mut lottery.checks[1];
    failed.title = "LotteryClient prints\nthe reply".to_string();
    failed.message = "expected two lines,\ngot one".to_string();
    failed.observed = Some("line one\nline two\n".to_string());
    failed.hint = Some("read until the server closes,\nthen print".to_string());
    report.scenarios[5].reason =
        Some("FTClient did not build:\nsee the compiler output".to_string());
    report
}

/// Lines of Markdown outside fenced code blocks.
fn prose(markdown: &str) -> Vec<&str> {
    let mut fenced = false;
    markdown
        .lines()
        .filter(|line| {
            if line.starts_with("```") {
                fenced = !fenced;
                return false;
            }
            !fenced
        })
        .collect()
}

fn assert_no_literal_newline(markdown: &str, what: &str) {
    for line in prose(markdown) {
        assert!(
            !line.contains("\\n"),
            "{what}: a literal \\n in {line:?} of:\n{markdown}"
        );
    }
}

#[test]
fn no_literal_backslash_n_in_markdown_or_gradescope() {
    let report = multiline();
    let md = render_markdown(&report);
    assert_no_literal_newline(&md, "feedback.md");
    assert!(
        md.contains("_The client sends a command and prints the reply._"),
        "{md}"
    );
    assert!(
        md.contains("#### ✗ LotteryClient prints the reply\n"),
        "{md}"
    );
    assert!(md.contains("got one"), "{md}");
    // Evidence keeps its lines, in a code block.
    assert!(
        md.contains("got:      line one\n          line two\n"),
        "{md}"
    );
    let results: Value = serde_json::from_str(&render_gradescope(&report)).unwrap();
    assert_no_literal_newline(results["output"].as_str().unwrap(), "Gradescope output");
    assert!(
        results["output"]
            .as_str()
            .unwrap()
            .contains("FTClient did not build: see the compiler output")
    );
    for test in results["tests"].as_array().unwrap() {
        assert_no_literal_newline(
            test["output"].as_str().unwrap(),
            "a Gradescope test's output",
        );
    }
}
