//! The terminal report: what a student reads after `socklab check` and a TA
//! after grading one submission.
//!
//! Order follows what a student must fix first: the header (who, which lab),
//! the scenarios that lost points with one line each saying why, build
//! problems with the compiler's output, one line per scenario with the
//! points, and under each failed scenario the failed checks with what socklab
//! sent, what it expected, what it got, a hint and the scenario line to read.
//! How isolated the run was comes last, before the total. Per-scenario
//! points are shown scaled to the manifest's total, so the lines add up to
//! the footer.
//!
//! Text from the model is printed as the runner escaped it (never trimmed);
//! raw control characters that slipped through are made visible so student
//! output cannot drive the terminal.

use crate::escape::visible_controls;
use crate::model::{
    BuildReport, CheckReport, CheckStatus, Diagram, PacketsReport, ScenarioReport, SubmissionReport,
};
use crate::points::{format_points, format_seconds, scaled_earned, scaled_points};
use crate::verdict::{Verdict, failures, not_reached_note, observed_checks, problem_checks};

/// How the terminal report is rendered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HumanOptions {
    /// Add every scenario's transcripts (program output, peer exchanges).
    pub verbose: bool,
    /// Colour with ANSI escapes (only when writing to a terminal).
    pub color: bool,
}

/// Width of the verdict column plus the margins around it.
const DETAIL: &str = "         ";
/// Where a field's value starts under a check (`sent:     ...`).
const FIELD: &str = "           ";

/// Renders the terminal report of one submission.
pub fn render_human(report: &SubmissionReport, opts: &HumanOptions) -> String {
    let paint = Paint(opts.color);
    let mut out = String::new();
    header(&mut out, report, paint);
    failure_list(&mut out, report, paint);
    if let Some(build) = &report.build {
        build_section(&mut out, build, paint, opts.verbose);
    }
    if report.scenarios.is_empty() {
        out.push_str("\nNo scenario ran.\n");
    } else {
        out.push('\n');
        out.push_str(&paint.bold("Scenarios"));
        out.push('\n');
        let width = name_width(report);
        for scenario in &report.scenarios {
            out.push_str(&scenario_block_with(report, scenario, opts, width));
        }
    }
    isolation_section(&mut out, report);
    footer(&mut out, report, paint);
    out
}

/// One scenario's line and the details under it, as in the full report
/// (PrairieLearn shows this per test).
pub(crate) fn scenario_block(
    report: &SubmissionReport,
    scenario: &ScenarioReport,
    opts: &HumanOptions,
) -> String {
    scenario_block_with(report, scenario, opts, 0)
}

fn header(out: &mut String, report: &SubmissionReport, paint: Paint) {
    out.push_str(&paint.bold(&format!(
        "socklab report for {} ({})",
        clean(&report.submission),
        clean(&report.lab)
    )));
    out.push_str(&paint.dim(&format!("  socklab {}", clean(&report.socklab_version))));
    out.push('\n');
}

/// What lost points, one line each, before anything else: the scenario's
/// details (evidence, hint, source) are under its line in the table below.
fn failure_list(out: &mut String, report: &SubmissionReport, paint: Paint) {
    let failures = failures(report);
    if failures.is_empty() {
        return;
    }
    out.push('\n');
    out.push_str(&paint.bold(&format!(
        "What failed ({} of {} scored scenarios; details under each below)",
        failures.len(),
        report.scored_scenarios().count()
    )));
    out.push('\n');
    let width = failures
        .iter()
        .map(|f| clean(&f.scenario.name).chars().count())
        .max()
        .unwrap_or(0)
        .min(40);
    for failure in &failures {
        let line = format!(
            "  {}  {:<width$}  ",
            paint.verdict(Verdict::of(failure.scenario)),
            clean(&failure.scenario.name)
        );
        out.push_str(&line);
        out.push_str(&visible_controls(&failure.reason));
        out.push('\n');
    }
}

/// How isolated the run was and what that means, after the results: it
/// matters to a TA reading a surprising result, not to the first fix.
fn isolation_section(out: &mut String, report: &SubmissionReport) {
    out.push('\n');
    out.push_str(&format!(
        "isolation: {}\n",
        clean(report.isolation.level.as_str())
    ));
    for note in &report.isolation.notes {
        push_field(out, "  note: ", "        ", note);
    }
}

fn build_section(out: &mut String, build: &BuildReport, paint: Paint, verbose: bool) {
    out.push('\n');
    let method = clean(&build.method);
    let took = format_seconds(build.duration_secs);
    if build.ok {
        out.push_str(&format!("build: ok ({method}, {took})\n"));
        if verbose && !build.output.is_empty() {
            out.push_str("  compiler output:\n");
            push_quoted(out, "    ", &build.output);
        }
        return;
    }
    out.push_str(&paint.red(&paint.bold("BUILD FAILED")));
    out.push_str(&format!(" ({method}, {took})\n"));
    let problems: Vec<_> = build
        .programs
        .iter()
        .filter(|p| p.status.is_failure())
        .collect();
    let width = problems
        .iter()
        .map(|p| p.name.chars().count())
        .max()
        .unwrap_or(0);
    for program in problems {
        let line = format!(
            "  {:<width$}  {:<7}  ",
            clean(&program.name),
            clean(program.status.as_str())
        );
        let pad = " ".repeat(line.chars().count());
        push_field(out, &line, &pad, program.detail.as_deref().unwrap_or(""));
    }
    if build.output.is_empty() {
        out.push_str("  (the build printed nothing)\n");
    } else {
        out.push_str("  compiler output:\n");
        push_quoted(out, "    ", &build.output);
    }
}

fn scenario_block_with(
    report: &SubmissionReport,
    scenario: &ScenarioReport,
    opts: &HumanOptions,
    width: usize,
) -> String {
    let paint = Paint(opts.color);
    let verdict = Verdict::of(scenario);
    let points = if scenario.is_scored() {
        format!(
            "{} / {}",
            format_points(scaled_earned(report, scenario)),
            format_points(scaled_points(report, scenario))
        )
    } else {
        "not scored".to_string()
    };
    let mut out = format!(
        "  {}  {:<width$}  {}\n",
        paint.verdict(verdict),
        clean(&scenario.name),
        points
    );
    if verdict != Verdict::Pass
        && let Some(description) = &scenario.description
    {
        // A YAML block scalar ends with a newline; it is not a blank line.
        let description = description.trim_end();
        push_styled_field(&mut out, DETAIL, DETAIL, description, &|l| paint.dim(l));
    }
    match verdict {
        Verdict::Pass => {}
        Verdict::Skip => push_reason(&mut out, "skipped: ", scenario),
        Verdict::Error => push_reason(&mut out, "socklab error (not your fault): ", scenario),
        Verdict::Fail => {
            if problem_checks(scenario).next().is_none() {
                push_reason(&mut out, "reason: ", scenario);
            }
        }
        Verdict::Info => {
            for check in observed_checks(scenario) {
                observed_block(&mut out, check);
            }
            if observed_checks(scenario).next().is_none() {
                push_reason(&mut out, "", scenario);
            }
        }
    }
    for check in problem_checks(scenario) {
        check_block(&mut out, scenario, check, paint);
    }
    // What socklab noticed beside the scored checks (files written outside
    // the working directory, say) is shown whatever the verdict.
    if verdict != Verdict::Info {
        for check in observed_checks(scenario) {
            observed_block(&mut out, check);
        }
    }
    if let Some(note) = not_reached_note(scenario) {
        out.push_str(DETAIL);
        out.push_str(&paint.dim(&note));
        out.push('\n');
    }
    if let Some(packets) = &scenario.packets {
        // Without -v, only a failed scenario's ladders a failed check marks.
        let failed = verdict == Verdict::Fail;
        packets_block(&mut out, packets, opts.verbose, failed, paint);
    }
    if opts.verbose {
        for transcript in &scenario.transcripts {
            out.push_str(&format!(
                "{DETAIL}transcript: {}\n",
                clean(&transcript.label)
            ));
            push_quoted(&mut out, FIELD, &transcript.text);
            if let Some(note) = transcript.excerpt_note() {
                out.push_str(&format!("{FIELD}({note})\n"));
            }
            if transcript.truncated_bytes > 0 {
                out.push_str(&format!(
                    "{FIELD}({} more bytes not kept)\n",
                    transcript.truncated_bytes
                ));
            }
        }
    }
    out
}

fn check_block(out: &mut String, scenario: &ScenarioReport, check: &CheckReport, paint: Paint) {
    let (mark, step) = if check.status == CheckStatus::Error {
        (paint.magenta("!"), "socklab error, not your fault; ")
    } else {
        (paint.red("✗"), "")
    };
    out.push_str(&format!(
        "{DETAIL}{mark} {}  {}\n",
        paint.bold(&clean(&check.title)),
        paint.dim(&format!("({step}step {})", clean(&check.step)))
    ));
    if !check.message.is_empty() {
        push_field(out, FIELD, FIELD, &check.message);
    }
    let fields = [
        ("sent:     ", &check.sent),
        ("expected: ", &check.expected),
        ("got:      ", &check.observed),
        ("hint:     ", &check.hint),
    ];
    for (label, value) in fields {
        if let Some(value) = value {
            push_field(
                out,
                &format!("{FIELD}{label}"),
                &format!("{FIELD}          "),
                value,
            );
        }
    }
    push_styled_field(
        out,
        &format!("{FIELD}source:   "),
        &format!("{FIELD}          "),
        &scenario.check_source(check).to_string(),
        &|l| paint.dim(l),
    );
}

/// The compact ladders (no packets that only acknowledge) of a
/// scenario's connections: all of them with `-v`, else, in a failed
/// scenario, those a failed packet check points at.
fn packets_block(
    out: &mut String,
    packets: &PacketsReport,
    verbose: bool,
    failed: bool,
    paint: Paint,
) {
    let shown: Vec<&Diagram> = packets
        .connections
        .iter()
        .filter(|d| verbose || (failed && d.has_marks()))
        .collect();
    if shown.is_empty() {
        return;
    }
    if verbose {
        let file = packets
            .file
            .as_deref()
            .map(|f| format!("{} · ", clean(f)))
            .unwrap_or_default();
        push_styled_field(
            out,
            &format!("{DETAIL}packets:  "),
            &format!("{DETAIL}          "),
            &format!("{file}{}", packets.cap),
            &|l| paint.dim(l),
        );
    }
    for diagram in shown {
        out.push_str(&format!("{DETAIL}{}\n", clean(&diagram.heading())));
        let ladder = diagram.without_pure_acks().text();
        let text = visible_controls(&ladder);
        for line in text.lines() {
            let line = if line.starts_with('✗') {
                paint.red(line)
            } else {
                line.to_string()
            };
            out.push_str(&format!("{DETAIL}{line}\n"));
        }
    }
    if verbose && packets.not_drawn > 0 {
        out.push_str(&format!(
            "{DETAIL}({} more connections not drawn)\n",
            packets.not_drawn
        ));
    }
}

fn observed_block(out: &mut String, check: &CheckReport) {
    let mut line = format!("{DETAIL}• {}", clean(&check.title));
    if !check.message.is_empty() {
        line.push_str(": ");
        line.push_str(&clean(&check.message));
    }
    let pad = format!("{DETAIL}  ");
    push_field(out, "", &pad, &line);
    if let Some(observed) = &check.observed {
        push_field(
            out,
            &format!("{FIELD}observed: "),
            &format!("{FIELD}          "),
            observed,
        );
    }
}

fn push_reason(out: &mut String, label: &str, scenario: &ScenarioReport) {
    if let Some(reason) = &scenario.reason {
        let pad = " ".repeat(DETAIL.len() + label.chars().count());
        push_field(out, &format!("{DETAIL}{label}"), &pad, reason);
    }
}

fn footer(out: &mut String, report: &SubmissionReport, paint: Paint) {
    let scored: Vec<_> = report.scored_scenarios().collect();
    let passed = scored.iter().filter(|s| s.counts_as_passed()).count();
    out.push('\n');
    out.push_str(&paint.bold(&format!(
        "score: {} / {}",
        format_points(report.score),
        format_points(report.max_score)
    )));
    let only = match &report.selection {
        Some(selection) => {
            let n = report.scenarios.len();
            let noun = if n == 1 { "scenario" } else { "scenarios" };
            format!("only the {n} {noun} selected, of {}; ", selection.of)
        }
        None => String::new(),
    };
    out.push_str(&format!(
        "   ({only}{passed} of {} scored scenarios passed, {})\n",
        scored.len(),
        format_seconds(report.duration_secs)
    ));
    if report.harness_failed() {
        out.push_str(&paint.magenta(
            "socklab could not run any scenario: this score says nothing about your code. Tell your TA.",
        ));
        out.push('\n');
    }
}

/// Appends `first` + the value's first line, then each further line after
/// `rest`, keeping the value's text exactly (no trimming).
fn push_field(out: &mut String, first: &str, rest: &str, value: &str) {
    push_styled_field(out, first, rest, value, &|line| line.to_string());
}

/// [`push_field`] with each line of the value styled (after escaping, so the
/// style's own escapes survive).
fn push_styled_field(
    out: &mut String,
    first: &str,
    rest: &str,
    value: &str,
    style: &dyn Fn(&str) -> String,
) {
    let value = visible_controls(value);
    let mut lines = value.split('\n');
    out.push_str(first);
    out.push_str(&style(lines.next().unwrap_or("")));
    out.push('\n');
    for line in lines {
        out.push_str(rest);
        out.push_str(&style(line));
        out.push('\n');
    }
}

/// Appends a block of output, each line behind `indent| `.
fn push_quoted(out: &mut String, indent: &str, text: &str) {
    let text = visible_controls(text);
    for line in text.split_terminator('\n') {
        out.push_str(indent);
        out.push_str("| ");
        out.push_str(line);
        out.push('\n');
    }
}

fn clean(text: &str) -> String {
    visible_controls(text).replace('\n', "\\n")
}

fn name_width(report: &SubmissionReport) -> usize {
    report
        .scenarios
        .iter()
        .map(|s| clean(&s.name).chars().count())
        .max()
        .unwrap_or(0)
        .min(40)
}

/// ANSI styling, or none.
#[derive(Debug, Clone, Copy)]
struct Paint(bool);

impl Paint {
    fn style(self, code: &str, text: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
    fn bold(self, text: &str) -> String {
        self.style("1", text)
    }
    fn dim(self, text: &str) -> String {
        self.style("2", text)
    }
    fn red(self, text: &str) -> String {
        self.style("31", text)
    }
    fn magenta(self, text: &str) -> String {
        self.style("35", text)
    }
    fn verdict(self, verdict: Verdict) -> String {
        let label = format!("{:<5}", verdict.label());
        let code = match verdict {
            Verdict::Pass => "32",
            Verdict::Fail => "1;31",
            Verdict::Skip => "33",
            Verdict::Info => "36",
            Verdict::Error => "1;35",
        };
        self.style(code, &label)
    }
}
