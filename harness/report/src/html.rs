//! A self-contained HTML feedback page for one student: inline CSS, no
//! script, no external asset, so it can be mailed, uploaded to an LMS or
//! opened from a zip.
//!
//! Everything from the model is escaped ([`crate::escape::html_escape`]):
//! student output is hostile input. As a second line of defence the page
//! declares a Content-Security-Policy that allows no script and no fetch.

use std::fmt::Write as _;

use crate::escape::{html_escape, one_line, prose_line};
use crate::model::{
    BuildReport, CheckReport, CheckStatus, Diagram, PacketsReport, ScenarioReport, SubmissionReport,
};
use crate::points::{format_points, format_seconds, scaled_earned, scaled_points};
use crate::verdict::{Verdict, failures, not_reached_note};

const STYLE: &str = "
body { font: 15px/1.45 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #1d232a; }
h1 { font-size: 1.5rem; margin-bottom: .25rem; }
h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #d0d7de; }
h3 { font-size: 1.05rem; margin: 0 0 .5rem; }
.score { font-size: 1.3rem; font-weight: 600; margin: .25rem 0; }
.meta, .source, .step { color: #57606a; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid #eaeef2; vertical-align: top; }
pre { background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 4px; padding: .5rem; white-space: pre-wrap; word-break: break-all; margin: .25rem 0; }
.verdict { display: inline-block; min-width: 3.5rem; font-weight: 700; font-family: ui-monospace, monospace; }
.v-pass { color: #1a7f37; } .v-fail { color: #cf222e; } .v-skip { color: #9a6700; } .v-info { color: #0969da; } .v-error { color: #8250df; }
.scenario { border: 1px solid #d0d7de; border-left-width: 5px; border-radius: 4px; padding: .75rem 1rem; margin: 1rem 0; }
.scenario.v-pass { border-left-color: #1a7f37; } .scenario.v-fail { border-left-color: #cf222e; } .scenario.v-skip { border-left-color: #9a6700; }
.scenario.v-info { border-left-color: #0969da; } .scenario.v-error { border-left-color: #8250df; }
.scenario > * { color: #1d232a; }
.checks { list-style: none; padding-left: 0; }
.check { margin: .4rem 0; }
.check.failed, .check.error { background: #fff8f8; border-radius: 4px; padding: .4rem .6rem; }
.check.not_reached { color: #8c959f; }
dl { display: grid; grid-template-columns: 6rem 1fr; gap: .2rem .5rem; margin: .4rem 0; }
dt { font-weight: 600; } dd { margin: 0; }
.failures { background: #fff8f8; border: 1px solid #cf222e; border-radius: 4px; padding: .25rem 1rem .5rem; }
.failures h2 { margin-top: .5rem; border: none; }
.isolation { margin-top: 2rem; color: #57606a; }
.build-failed { background: #fff8f8; border: 1px solid #cf222e; border-radius: 4px; padding: .5rem 1rem; }
.banner { background: #fbefff; border: 1px solid #8250df; border-radius: 4px; padding: .5rem 1rem; }
.packets { margin: .75rem 0; }
.ladder { margin: .75rem 0; overflow-x: auto; }
.ladder figcaption { font-weight: 600; margin-bottom: .25rem; }
.ladder svg { display: block; max-width: 100%; height: auto; border: 1px solid #d0d7de; border-radius: 4px; }
";

/// Renders the HTML feedback page of one submission.
pub fn render_html(report: &SubmissionReport) -> String {
    let mut out = String::new();
    let name = html_escape(&one_line(&report.submission));
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>socklab feedback: {name}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
    );
    header(&mut out, report, &name);
    failure_list(&mut out, report);
    if let Some(build) = &report.build {
        build_section(&mut out, build);
    }
    scenario_table(&mut out, report);
    for (index, scenario) in report.scenarios.iter().enumerate() {
        scenario_section(&mut out, report, index, scenario);
    }
    isolation_section(&mut out, report);
    out.push_str("</body>\n</html>\n");
    out
}

fn header(out: &mut String, report: &SubmissionReport, name: &str) {
    let scored: Vec<_> = report.scored_scenarios().collect();
    let passed = scored.iter().filter(|s| s.counts_as_passed()).count();
    let _ = writeln!(out, "<header>\n<h1>socklab feedback: {name}</h1>");
    let _ = writeln!(
        out,
        "<p class=\"score\">Score: {} / {}</p>",
        format_points(report.score),
        format_points(report.max_score)
    );
    let _ = writeln!(
        out,
        "<p class=\"meta\">Lab {} · {passed} of {} scored scenarios passed · {} · socklab {}</p>",
        text(&report.lab),
        scored.len(),
        format_seconds(report.duration_secs),
        text(&report.socklab_version)
    );
    if report.harness_failed() {
        out.push_str(
            "<p class=\"banner\"><strong>socklab could not run any scenario</strong>: \
             this score says nothing about your code. Tell your TA.</p>\n",
        );
    }
    out.push_str("</header>\n");
}

/// "What failed": each scenario that lost points, its one-line reason and
/// a link to its section. Nothing when everything passed.
fn failure_list(out: &mut String, report: &SubmissionReport) {
    let failures = failures(report);
    if failures.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "<section class=\"failures\">\n<h2>What failed ({} of {} scored scenarios)</h2>\n<ul>",
        failures.len(),
        report.scored_scenarios().count()
    );
    for failure in &failures {
        let _ = writeln!(
            out,
            "<li>{} <a href=\"#scenario-{}\">{}</a>: {}</li>",
            verdict_span(Verdict::of(failure.scenario)),
            failure.index,
            text(&failure.scenario.name),
            text(&failure.reason)
        );
    }
    out.push_str("</ul>\n</section>\n");
}

/// How isolated the run was, at the end: context for a surprising result.
fn isolation_section(out: &mut String, report: &SubmissionReport) {
    let _ = writeln!(
        out,
        "<footer class=\"isolation\">\n<h2>Isolation</h2>\n<p>Isolation: <strong>{}</strong></p>",
        text(report.isolation.level.as_str())
    );
    if !report.isolation.notes.is_empty() {
        out.push_str("<ul class=\"notes\">\n");
        for note in &report.isolation.notes {
            let _ = writeln!(out, "<li>{}</li>", text(note));
        }
        out.push_str("</ul>\n");
    }
    out.push_str("</footer>\n");
}

fn build_section(out: &mut String, build: &BuildReport) {
    let method = text(&build.method);
    let took = format_seconds(build.duration_secs);
    if build.ok {
        let _ = writeln!(out, "<p>Build: ok ({method}, {took})</p>");
        return;
    }
    let _ = writeln!(
        out,
        "<section class=\"build-failed\">\n<h2>Build failed</h2>\n<p>Built with {method} ({took}).</p>"
    );
    out.push_str("<table>\n<tr><th>Program</th><th>Status</th><th>Detail</th></tr>\n");
    for program in &build.programs {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            text(&program.name),
            text(program.status.as_str()),
            text(program.detail.as_deref().unwrap_or(""))
        );
    }
    out.push_str("</table>\n");
    if build.output.is_empty() {
        out.push_str("<p>The build printed nothing.</p>\n");
    } else {
        let _ = writeln!(out, "<p>Compiler output:</p>\n{}", pre(&build.output));
    }
    out.push_str("</section>\n");
}

fn scenario_table(out: &mut String, report: &SubmissionReport) {
    out.push_str("<h2>Scenarios</h2>\n");
    if report.scenarios.is_empty() {
        out.push_str("<p>No scenario ran.</p>\n");
        return;
    }
    out.push_str(
        "<table class=\"scenarios\">\n<tr><th>Result</th><th>Scenario</th><th>Points</th></tr>\n",
    );
    for (index, scenario) in report.scenarios.iter().enumerate() {
        let verdict = Verdict::of(scenario);
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td><a href=\"#scenario-{index}\">{}</a></td><td>{}</td></tr>",
            verdict_span(verdict),
            text(&scenario.name),
            points(report, scenario)
        );
    }
    out.push_str("</table>\n");
}

fn scenario_section(
    out: &mut String,
    report: &SubmissionReport,
    index: usize,
    scenario: &ScenarioReport,
) {
    let verdict = Verdict::of(scenario);
    let _ = writeln!(
        out,
        "<section class=\"scenario {}\" id=\"scenario-{index}\">\n<h3>{} {} <span class=\"meta\">({})</span></h3>",
        verdict_class(verdict),
        verdict_span(verdict),
        text(&scenario.name),
        points(report, scenario)
    );
    if let Some(description) = &scenario.description {
        let _ = writeln!(out, "<p>{}</p>", text(&prose_line(description)));
    }
    let _ = writeln!(
        out,
        "<p class=\"source\">{}</p>",
        text(&scenario.source.to_string())
    );
    if let Some(reason) = &scenario.reason {
        let label = match verdict {
            Verdict::Skip => "Skipped",
            Verdict::Error => "socklab could not run this scenario (not your fault)",
            _ => "Reason",
        };
        let _ = writeln!(out, "<p><strong>{label}:</strong> {}</p>", text(reason));
    }
    if !scenario.checks.is_empty() {
        out.push_str("<ol class=\"checks\">\n");
        for check in &scenario.checks {
            check_item(out, scenario, check);
        }
        out.push_str("</ol>\n");
    }
    if let Some(note) = not_reached_note(scenario) {
        let _ = writeln!(out, "<p class=\"meta\">{note}.</p>");
    }
    if let Some(packets) = &scenario.packets {
        packets_section(out, index, packets, verdict == Verdict::Fail);
    }
    for transcript in scenario.feedback_transcripts() {
        let _ = writeln!(
            out,
            "<details>\n<summary>Transcript: {}</summary>\n{}",
            text(&transcript.label),
            pre(&transcript.text)
        );
        if let Some(note) = transcript.excerpt_note() {
            let _ = writeln!(out, "<p class=\"meta\">({})</p>", text(&note));
        }
        if transcript.truncated_bytes > 0 {
            let _ = writeln!(
                out,
                "<p class=\"meta\">({} more bytes not kept)</p>",
                transcript.truncated_bytes
            );
        }
        out.push_str("</details>\n");
    }
    out.push_str("</section>\n");
}

fn check_item(out: &mut String, scenario: &ScenarioReport, check: &CheckReport) {
    let (mark, class) = match check.status {
        CheckStatus::Passed => ("✓", "passed"),
        CheckStatus::Failed => ("✗", "failed"),
        CheckStatus::Observed => ("ℹ", "observed"),
        CheckStatus::NotReached => ("…", "not_reached"),
        CheckStatus::Error => ("⚠", "error"),
        CheckStatus::Skipped => ("⏭", "skipped"),
    };
    if check.status == CheckStatus::Passed {
        // A passed check needs no pointer into the scenario file: a
        // full-marks page lists hundreds of them.
        let _ = write!(
            out,
            "<li class=\"check {class}\">{mark} <strong>{}</strong> <span class=\"step\">(step {})</span>",
            text(&check.title),
            text(&check.step),
        );
    } else {
        let _ = write!(
            out,
            "<li class=\"check {class}\">{mark} <strong>{}</strong> <span class=\"step\">(step {} · {} · {})</span>",
            text(&check.title),
            text(&check.step),
            text(&scenario.check_source(check).to_string()),
            check.status.as_str()
        );
    }
    let detailed = matches!(
        check.status,
        CheckStatus::Failed | CheckStatus::Error | CheckStatus::Observed | CheckStatus::Skipped
    );
    if detailed {
        if !check.message.is_empty() {
            let _ = write!(out, "\n<p>{}</p>", text(&check.message));
        }
        let fields = [
            ("sent", &check.sent),
            ("expected", &check.expected),
            ("got", &check.observed),
        ];
        if fields.iter().any(|(_, v)| v.is_some()) || check.hint.is_some() {
            out.push_str("\n<dl>");
            for (label, value) in fields {
                if let Some(value) = value {
                    let _ = write!(out, "\n<dt>{label}</dt><dd>{}</dd>", pre(value).trim_end());
                }
            }
            if let Some(hint) = &check.hint {
                let _ = write!(out, "\n<dt>hint</dt><dd>{}</dd>", text(hint));
            }
            out.push_str("\n</dl>");
        }
    }
    out.push_str("</li>\n");
}

/// The scenario's connections as SVG ladders, folded unless the scenario
/// failed and a failed packet check points at one of their packets (drawn
/// red).
fn packets_section(out: &mut String, index: usize, packets: &PacketsReport, failed: bool) {
    let open = if failed && packets.connections.iter().any(Diagram::has_marks) {
        " open"
    } else {
        ""
    };
    let total = packets.connections.len() + packets.not_drawn;
    let _ = writeln!(
        out,
        "<details class=\"packets\"{open}>\n<summary>Packets: {} (ladder diagrams)</summary>",
        if total == 1 {
            "1 TCP connection".to_string()
        } else {
            format!("{total} TCP connections")
        }
    );
    let file = packets.file.as_deref().map(|f| {
        format!(
            "The capture, for Wireshark: <a href=\"{}\">{}</a>. ",
            html_escape(f),
            text(f)
        )
    });
    let _ = writeln!(
        out,
        "<p class=\"meta\">{}{}</p>",
        file.unwrap_or_default(),
        text(&packets.cap)
    );
    for diagram in &packets.connections {
        let guessed = if diagram.syn_seen {
            ""
        } else {
            " (no SYN captured: client and server are guessed from the ports)"
        };
        let _ = writeln!(
            out,
            "<figure class=\"ladder\">\n<figcaption>{}{guessed}</figcaption>\n{}</figure>",
            text(&diagram.heading()),
            diagram.svg_with_id(&format!("s{index}-c{}", diagram.connection))
        );
    }
    if packets.not_drawn > 0 {
        let _ = writeln!(
            out,
            "<p class=\"meta\">{} more {} not drawn (the capture file has them).</p>",
            packets.not_drawn,
            if packets.not_drawn == 1 {
                "connection"
            } else {
                "connections"
            }
        );
    }
    out.push_str("</details>\n");
}

fn points(report: &SubmissionReport, scenario: &ScenarioReport) -> String {
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

fn verdict_class(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Pass => "v-pass",
        Verdict::Fail => "v-fail",
        Verdict::Skip => "v-skip",
        Verdict::Info => "v-info",
        Verdict::Error => "v-error",
    }
}

fn verdict_span(verdict: Verdict) -> String {
    format!(
        "<span class=\"verdict {}\">{}</span>",
        verdict_class(verdict),
        verdict.label()
    )
}

/// Escaped prose; line breaks become `<br>`.
fn text(value: &str) -> String {
    html_escape(value).replace('\n', "<br>\n")
}

/// Exact text in a `<pre>`. The newline after `<pre>` is there because HTML
/// drops the first newline inside a `<pre>`: a value starting with one keeps it.
fn pre(value: &str) -> String {
    format!("<pre>\n{}</pre>\n", html_escape(value))
}
