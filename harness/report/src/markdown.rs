//! Markdown feedback for one student: the same content as the terminal
//! report (what failed first, each with its one-line reason and a link to its
//! details, build problems, a table of scenarios, the details, and how
//! isolated the run was last),
//! in a form GitHub (`$GITHUB_STEP_SUMMARY`, issues), Gradescope (`md`
//! output) and an LMS render. Transcripts are folded in `<details>`.
//!
//! Student output is hostile: prose from the model is escaped so it cannot
//! form links, HTML or headings, and exact text (what was sent, expected and
//! seen, compiler output, transcripts) goes into fenced code blocks whose
//! fence is longer than any run of backticks inside.

use std::fmt::Write as _;

use crate::escape::{html_escape, one_line, prose_line, visible_controls};
use crate::model::{
    BuildReport, CheckReport, CheckStatus, Diagram, PacketsReport, ScenarioReport, SubmissionReport,
};
use crate::points::{format_points, format_seconds, scaled_earned, scaled_points};
use crate::verdict::{Verdict, failures, not_reached_note, observed_checks, problem_checks};

/// Renders the Markdown feedback page of one submission.
pub fn render_markdown(report: &SubmissionReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# socklab feedback: {}\n", md_line(&report.submission));
    let scored: Vec<_> = report.scored_scenarios().collect();
    let passed = scored.iter().filter(|s| s.counts_as_passed()).count();
    let _ = writeln!(
        out,
        "**Lab:** {} · **Score: {} / {}** · {passed} of {} scored scenarios passed · socklab {}\n",
        md_line(&report.lab),
        format_points(report.score),
        format_points(report.max_score),
        scored.len(),
        md_line(&report.socklab_version),
    );
    if report.harness_failed() {
        out.push_str(
            "> **socklab could not run any scenario**: this score says nothing about your code. Tell your TA.\n\n",
        );
    }
    out.push_str(&failure_list(report, true));
    if let Some(build) = &report.build {
        build_section(&mut out, build);
    }
    if report.scenarios.is_empty() {
        out.push_str("## Scenarios\n\nNo scenario ran.\n\n");
        isolation_section(&mut out, report);
        return out;
    }
    out.push_str("## Scenarios\n\n| Result | Scenario | Points |\n| --- | --- | --- |\n");
    for (index, scenario) in report.scenarios.iter().enumerate() {
        let verdict = Verdict::of(scenario);
        let name = if has_details(scenario) {
            format!("[{}](#scenario-{index})", md_line(&scenario.name))
        } else {
            md_line(&scenario.name)
        };
        let _ = writeln!(
            out,
            "| {} {} | {name} | {} |",
            verdict.icon(),
            verdict.label(),
            points_cell(report, scenario)
        );
    }
    out.push_str("\n## Details\n");
    for (index, scenario) in report.scenarios.iter().enumerate() {
        if !has_details(scenario) {
            continue;
        }
        let verdict = Verdict::of(scenario);
        // An explicit anchor: generated heading slugs differ between
        // renderers and drop the emoji and brackets of scenario names.
        let _ = writeln!(
            out,
            "\n<a id=\"scenario-{index}\"></a>\n\n### {} {} {} ({})\n",
            verdict.icon(),
            verdict.label(),
            md_line(&scenario.name),
            points_cell(report, scenario)
        );
        out.push_str(&scenario_details(scenario));
    }
    isolation_section(&mut out, report);
    out
}

/// Whether a scenario gets a section under "Details" (a bare pass does not).
fn has_details(scenario: &ScenarioReport) -> bool {
    Verdict::of(scenario) != Verdict::Pass || !scenario.feedback_transcripts().is_empty()
}

/// "What failed": a bullet per scenario that lost points with its one-line
/// reason, linked to its details when `links` (the feedback page; a
/// Gradescope overview names the test instead). Empty when nothing failed.
pub(crate) fn failure_list(report: &SubmissionReport, links: bool) -> String {
    let failures = failures(report);
    if failures.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "## What failed ({} of {} scored scenarios)\n\n",
        failures.len(),
        report.scored_scenarios().count()
    );
    for failure in &failures {
        let verdict = Verdict::of(failure.scenario);
        let name = md_line(&failure.scenario.name);
        let name = if links {
            format!("[{name}](#scenario-{})", failure.index)
        } else {
            format!("**{name}**")
        };
        let _ = writeln!(
            out,
            "- {} {name}: {}",
            verdict.icon(),
            md_text(&failure.reason)
        );
    }
    out.push('\n');
    out
}

/// How isolated the run was, after the results (see docs/isolation.md).
pub(crate) fn isolation_section(out: &mut String, report: &SubmissionReport) {
    let _ = writeln!(
        out,
        "\n## Isolation\n\n**Isolation:** {}\n",
        md_line(report.isolation.level.as_str())
    );
    for note in &report.isolation.notes {
        let _ = writeln!(out, "- {}", md_text(&prose_line(note)));
    }
    if !report.isolation.notes.is_empty() {
        out.push('\n');
    }
}

/// What the student should know about one scenario, without a heading
/// (Gradescope shows this as a test's output).
pub(crate) fn scenario_details(scenario: &ScenarioReport) -> String {
    let mut out = String::new();
    if let Some(description) = &scenario.description {
        // A wrapped YAML description is one paragraph, not `\n`s.
        let _ = writeln!(out, "_{}_\n", md_text(&prose_line(description)));
    }
    let _ = writeln!(out, "Scenario: {}\n", md_line(&scenario.source.to_string()));
    let verdict = Verdict::of(scenario);
    if let Some(reason) = &scenario.reason {
        let label = match verdict {
            Verdict::Skip => "Skipped",
            Verdict::Error => "socklab could not run this scenario (not your fault)",
            _ => "Reason",
        };
        let _ = writeln!(out, "**{label}:** {}\n", md_text(reason));
    }
    if verdict == Verdict::Pass {
        match scenario.checks.len() {
            0 => out.push_str("Passed.\n\n"),
            1 => out.push_str("The check passed.\n\n"),
            n => {
                let _ = writeln!(out, "All {n} checks passed.\n");
            }
        }
    }
    for check in observed_checks(scenario) {
        let _ = writeln!(out, "#### ℹ️ {}\n", md_line(&prose_line(&check.title)));
        if !check.message.is_empty() {
            let _ = writeln!(out, "{}\n", md_text(&check.message));
        }
        if let Some(observed) = &check.observed {
            out.push_str(&code_block(&format!("observed: {}", indent_rest(observed))));
            out.push('\n');
        }
    }
    for check in problem_checks(scenario) {
        check_details(&mut out, scenario, check);
    }
    if let Some(note) = not_reached_note(scenario) {
        let _ = writeln!(out, "_{note}._\n");
    }
    if let Some(packets) = &scenario.packets {
        packets_details(&mut out, packets, verdict == Verdict::Fail);
    }
    for transcript in scenario.feedback_transcripts() {
        let _ = writeln!(
            out,
            "<details>\n<summary>Transcript: {}</summary>\n",
            html_escape(&one_line(&transcript.label))
        );
        out.push_str(&code_block(&transcript.text));
        if let Some(note) = transcript.excerpt_note() {
            let _ = writeln!(out, "\n({})", md_text(&note));
        }
        if transcript.truncated_bytes > 0 {
            let _ = writeln!(
                out,
                "\n({} more bytes not kept)",
                transcript.truncated_bytes
            );
        }
        out.push_str("\n</details>\n\n");
    }
    out
}

fn check_details(out: &mut String, scenario: &ScenarioReport, check: &CheckReport) {
    let mark = if check.status == CheckStatus::Error {
        "⚠️"
    } else {
        "✗"
    };
    let _ = writeln!(out, "#### {mark} {}\n", md_line(&prose_line(&check.title)));
    let mut where_ = format!(
        "Step {} · {}",
        md_line(&check.step),
        md_line(&scenario.check_source(check).to_string())
    );
    if check.status == CheckStatus::Error {
        where_.push_str(" · socklab error, not your fault");
    }
    let _ = writeln!(out, "{where_}\n");
    if !check.message.is_empty() {
        let _ = writeln!(out, "{}\n", md_text(&check.message));
    }
    let mut exchange = String::new();
    for (label, value) in [
        ("sent:     ", &check.sent),
        ("expected: ", &check.expected),
        ("got:      ", &check.observed),
    ] {
        if let Some(value) = value {
            let _ = writeln!(exchange, "{label}{}", indent_rest(value));
        }
    }
    if !exchange.is_empty() {
        out.push_str(&code_block(&exchange));
        out.push('\n');
    }
    if let Some(hint) = &check.hint {
        let _ = writeln!(out, "**Hint:** {}\n", md_text(hint));
    }
}

/// The scenario's connections as text ladders in fenced blocks, folded
/// unless the scenario failed and a failed packet check points at one of
/// their packets (`✗`).
fn packets_details(out: &mut String, packets: &PacketsReport, failed: bool) {
    let open = if failed && packets.connections.iter().any(Diagram::has_marks) {
        " open"
    } else {
        ""
    };
    let total = packets.connections.len() + packets.not_drawn;
    let _ = writeln!(
        out,
        "<details{open}>\n<summary>Packets: {total} TCP connection{} (ladder diagrams)</summary>\n",
        if total == 1 { "" } else { "s" }
    );
    if let Some(file) = &packets.file {
        let _ = write!(
            out,
            "Capture file (Wireshark): `{}` · ",
            file.replace('`', "'")
        );
    }
    let _ = writeln!(out, "{}\n", md_text(&packets.cap));
    for diagram in &packets.connections {
        let _ = writeln!(
            out,
            "**Connection {}**: client {} → server {} ({} packets over {} s){}\n",
            diagram.connection,
            md_line(&diagram.client),
            md_line(&diagram.server),
            diagram.packets,
            format_seconds_exact(diagram.duration_ns),
            if diagram.syn_seen {
                ""
            } else {
                " (no SYN captured: client and server are guessed from the ports)"
            }
        );
        out.push_str(&code_block(&diagram.text()));
        out.push('\n');
    }
    if let Some(note) = packets.not_drawn_note() {
        let _ = writeln!(out, "_{}_\n", prose_line(&note));
    }
    out.push_str("</details>\n\n");
}

/// Seconds with microseconds, as the ladders show times.
fn format_seconds_exact(nanos: u64) -> String {
    format!("{:.6}", nanos as f64 / 1e9)
}

pub(crate) fn build_section(out: &mut String, build: &BuildReport) {
    if build.ok {
        let _ = writeln!(
            out,
            "**Build:** ok ({}, {})\n",
            md_line(&build.method),
            format_seconds(build.duration_secs)
        );
        return;
    }
    let _ = writeln!(
        out,
        "## ❌ Build failed\n\nBuilt with {} ({}).\n",
        md_line(&build.method),
        format_seconds(build.duration_secs)
    );
    out.push_str("| Program | Status | Detail |\n| --- | --- | --- |\n");
    for program in &build.programs {
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            md_line(&program.name),
            md_line(program.status.as_str()),
            md_line(program.detail.as_deref().unwrap_or(""))
        );
    }
    out.push('\n');
    if build.output.is_empty() {
        out.push_str("The build printed nothing.\n\n");
    } else {
        out.push_str("Compiler output:\n\n");
        out.push_str(&code_block(&build.output));
        out.push('\n');
    }
}

fn points_cell(report: &SubmissionReport, scenario: &ScenarioReport) -> String {
    if scenario.is_scored() {
        format!(
            "{} / {}",
            format_points(scaled_earned(report, scenario)),
            format_points(scaled_points(report, scenario))
        )
    } else {
        "not scored".to_string()
    }
}

/// Continuation lines of a multi-line value, indented under the value column
/// of `label:    value`.
fn indent_rest(value: &str) -> String {
    value.replace('\n', "\n          ")
}

/// A fenced code block holding `text` exactly (control characters made
/// visible); the fence is longer than any backtick run inside.
pub(crate) fn code_block(text: &str) -> String {
    let text = visible_controls(text);
    let longest = longest_run(&text, '`');
    let fence = "`".repeat(longest.max(2) + 1);
    let mut out = format!("{fence}text\n{text}");
    if !text.is_empty() && !text.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&fence);
    out.push('\n');
    out
}

fn longest_run(text: &str, c: char) -> usize {
    let (mut longest, mut current) = (0, 0);
    for ch in text.chars() {
        if ch == c {
            current += 1;
            longest = longest.max(current);
        } else {
            current = 0;
        }
    }
    longest
}

/// Prose inside a line (table cells, headings, after a label): newlines
/// shown as `\n`.
pub(crate) fn md_line(text: &str) -> String {
    escape(&one_line(text), false)
}

/// Prose that may span lines: Markdown and HTML syntax is escaped so the
/// text renders as written; line breaks are kept as hard breaks. Characters
/// that only mean something at the start of a line (`-`, `+`, `=`, `1.`)
/// are escaped there only, to keep the raw file readable.
///
/// A line's paired backticks stay code spans (socklab and scenario authors
/// write `` `waitpid` `` and `` `srv` `` in hints and messages): what is
/// between them is shown as written, never as markup, so a code span is
/// as safe as escaping. An unpaired backtick is escaped.
pub(crate) fn md_text(text: &str) -> String {
    let text = visible_controls(text);
    let mut out = String::with_capacity(text.len() + 16);
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push_str("\\\n");
        }
        let parts: Vec<&str> = line.split('`').collect();
        if parts.len().is_multiple_of(2) {
            // An unpaired backtick: no spans on this line.
            out.push_str(&escape(line, true));
            continue;
        }
        for (j, part) in parts.iter().enumerate() {
            if j % 2 == 0 {
                out.push_str(&escape(part, j == 0));
            } else if part.trim().is_empty() {
                let _ = write!(out, "\\`{}\\`", escape(part, false));
            } else if part.starts_with(' ') || part.ends_with(' ') {
                // CommonMark trims one space off each edge when both have one.
                let _ = write!(out, "` {part} `");
            } else {
                let _ = write!(out, "`{part}`");
            }
        }
    }
    out
}

fn escape(text: &str, at_line_start: bool) -> String {
    let text = visible_controls(text);
    let mut out = String::with_capacity(text.len() + 16);
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push_str("\\\n");
        }
        let mut at_start = at_line_start || i > 0;
        let mut digits = 0;
        for c in line.chars() {
            let line_start_syntax = at_start && "-+=".contains(c);
            let ordered_list = digits > 0 && at_start && (c == '.' || c == ')');
            if line_start_syntax || ordered_list || "\\`*_{}[]<>&|#~$".contains(c) {
                out.push('\\');
            }
            if c.is_ascii_digit() && at_start {
                digits += 1;
            } else if !(c == ' ' && digits == 0) {
                at_start = false;
            }
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_block_fence_outgrows_backticks_inside() {
        let block = code_block("a ```` b");
        assert!(block.starts_with("`````text\n"), "{block}");
        assert!(block.ends_with("\n`````\n"), "{block}");
        assert_eq!(code_block(""), "```text\n```\n");
    }

    #[test]
    fn md_text_defuses_markup() {
        assert_eq!(md_text("[x](http://e) <b>"), "\\[x\\](http://e) \\<b\\>");
        assert_eq!(md_text("1. item\n# h"), "1\\. item\\\n\\# h");
        assert_eq!(md_text("  - a-b\n+ c 2. d"), "  \\- a-b\\\n\\+ c 2. d");
        assert_eq!(md_text("==="), "\\===");
        // Paired backticks stay code spans, their content as written.
        assert_eq!(
            md_text("call `waitpid(-1, &s, WNOHANG)` in a <loop>"),
            "call `waitpid(-1, &s, WNOHANG)` in a \\<loop\\>"
        );
        assert_eq!(md_text("`<b>` and `x`"), "`<b>` and `x`");
        // An unpaired or empty pair is escaped.
        assert_eq!(md_text("a ` b"), "a \\` b");
        assert_eq!(md_text("a `` b"), "a \\`\\` b");
        assert_eq!(md_text("` x`"), "`  x `");
        assert_eq!(md_line("a|b\nc"), "a\\|b\\\\nc");
        assert_eq!(md_line("0.1.0 - x"), "0.1.0 - x");
    }
}
