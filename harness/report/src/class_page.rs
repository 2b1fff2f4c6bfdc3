//! The class page (`OUT/index.html`): the [`ClassReport`] for a TA's
//! browser.
//!
//! One self-contained file, like the feedback pages ([`crate::html`]): inline
//! CSS and SVG, no script, no font or image fetched, and a
//! Content-Security-Policy that forbids both, so it opens from a zip or an
//! LMS. Lists that grow with the class (who failed a scenario, who is in a
//! mistake group) sit in `<details>`, closed; no transcript is copied here,
//! only links to each student's `students/NAME/feedback.html`, so the page
//! stays small for a class of hundreds.
//!
//! Sections, in the order a TA reads them: the score histogram with mean and
//! median, where the class fails (one bar per scenario, worst first), the
//! common mistakes, build failures, entries that are not submissions, and
//! the run's settings.

use std::fmt::Write as _;

use crate::class::{
    BuildFailureGroup, ClassReport, MistakeGroup, ScenarioOutcome, ScoreDistribution, Seen,
    StudentRef, StudentScore,
};
use crate::escape::{html_escape, one_line};
use crate::points::format_points;

/// Mistake groups shown open before the rest are folded away: every group
/// of two or more students, and at least this many in all.
const SHOWN_GROUPS: usize = 12;

/// Scenario bars shown before the ones with lower failure rates are folded.
const SHOWN_SCENARIOS: usize = 12;

const STYLE: &str = "
body { font: 15px/1.45 system-ui, sans-serif; max-width: 64rem; margin: 1.5rem auto; padding: 0 1rem; color: #1d232a; }
h1 { font-size: 1.6rem; margin-bottom: .25rem; }
h2 { font-size: 1.25rem; margin-top: 2rem; border-bottom: 1px solid #d0d7de; padding-bottom: .2rem; }
h3 { font-size: 1rem; margin: 0 0 .3rem; }
a { color: #0969da; }
.meta, .source, .note { color: #57606a; }
nav a { margin-right: 1rem; }
svg text { font: 13px system-ui, sans-serif; fill: #1d232a; }
.legend span { display: inline-block; margin-right: 1rem; }
.swatch { display: inline-block; width: .8rem; height: .8rem; border-radius: 2px; vertical-align: -1px; margin-right: .3rem; }
.pass { background: #1a7f37; } .fail { background: #cf222e; } .skip { background: #d4a72c; } .error { background: #8250df; }
.row { display: grid; grid-template-columns: minmax(16rem, 26rem) 1fr 9rem; gap: .75rem; align-items: center; padding: .15rem 0; }
details.scenario > summary { list-style: none; cursor: pointer; }
details.scenario > summary::-webkit-details-marker { display: none; }
details.scenario[open] > summary .name { font-weight: 600; }
.name { font-family: ui-monospace, monospace; font-size: 13px; overflow-wrap: anywhere; }
.bar { display: flex; height: 1rem; border-radius: 3px; overflow: hidden; background: #eaeef2; }
.bar > span { display: block; height: 100%; }
.rate { font-size: 13px; color: #57606a; text-align: right; white-space: nowrap; }
.who { margin: .2rem 0 .6rem 1rem; font-size: 14px; }
.mistake, .build { border: 1px solid #d0d7de; border-left: 5px solid #cf222e; border-radius: 4px; padding: .6rem .9rem; margin: .8rem 0; }
.build { border-left-color: #9a6700; }
.count { display: inline-block; min-width: 2rem; padding: 0 .4rem; margin-right: .4rem; border-radius: 1rem; background: #cf222e; color: #fff; text-align: center; font-weight: 700; }
.build .count { background: #9a6700; }
.evidence { font-family: ui-monospace, monospace; font-size: 13px; background: #f6f8fa; border-radius: 4px; padding: .25rem .5rem; margin: .3rem 0; overflow-wrap: anywhere; }
.hint { margin: .3rem 0; }
.mistake p, .build p { margin: .3rem 0; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid #eaeef2; vertical-align: top; }
th { width: 12rem; }
table.students th { width: auto; }
ul.seen { margin: 0; padding-left: 1.1rem; }
";

/// Renders the class page.
pub fn render_class_page(class: &ClassReport) -> String {
    let mut out = String::new();
    let labs = if class.labs.is_empty() {
        "no lab".to_string()
    } else {
        class.labs.join(", ")
    };
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>socklab class report: {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        text(&labs)
    );
    header(&mut out, class, &labs);
    distribution_section(&mut out, &class.distribution);
    scenarios_section(&mut out, &class.scenarios);
    mistakes_section(&mut out, &class.mistakes);
    builds_section(&mut out, &class.build_failures);
    others_section(&mut out, class);
    students_section(&mut out, &class.students);
    settings_section(&mut out, class);
    out.push_str("</body>\n</html>\n");
    out
}

fn header(out: &mut String, class: &ClassReport, labs: &str) {
    let d = &class.distribution;
    let _ = writeln!(
        out,
        "<header>\n<h1>socklab class report: {}</h1>",
        text(labs)
    );
    let mut facts = vec![plural(class.submissions, "submission")];
    if !class.not_submissions.is_empty() {
        facts.push(format!("{} not a submission", class.not_submissions.len()));
    }
    if d.count > 0 {
        facts.push(format!(
            "mean {}, median {} {}",
            format_points(d.mean),
            format_points(d.median),
            out_of(d)
        ));
    }
    facts.push(format!("{} passed everything", class.passed_everything));
    if !class.build_failures.is_empty() {
        let failed: std::collections::BTreeSet<&StudentRef> = class
            .build_failures
            .iter()
            .flat_map(|g| &g.students)
            .collect();
        facts.push(format!("{} with a failed build", failed.len()));
    }
    let _ = writeln!(out, "<p class=\"meta\">{}</p>", text(&facts.join(" · ")));
    if !class.socklab_failed.is_empty() {
        let _ = writeln!(
            out,
            "<p><strong>socklab could not run any scenario for {}</strong>: {}. Their scores say nothing about their code; grade them again.</p>",
            plural(class.socklab_failed.len(), "submission"),
            links(&class.socklab_failed)
        );
    }
    out.push_str(
        "<nav><a href=\"#distribution\">Scores</a><a href=\"#scenarios\">Scenarios</a>\
         <a href=\"#mistakes\">Common mistakes</a><a href=\"#builds\">Build failures</a>\
         <a href=\"#students\">Students</a><a href=\"#settings\">Run settings</a></nav>\n</header>\n",
    );
}

fn out_of(d: &ScoreDistribution) -> String {
    if d.percent {
        "(percent; the maximum differs between reports)".to_string()
    } else {
        format!("of {}", format_points(d.out_of))
    }
}

fn distribution_section(out: &mut String, d: &ScoreDistribution) {
    out.push_str("<section id=\"distribution\">\n<h2>Score distribution</h2>\n");
    if d.count == 0 {
        out.push_str("<p>No submission was graded.</p>\n</section>\n");
        return;
    }
    let _ = writeln!(
        out,
        "<p class=\"meta\">{} {}: min {}, max {}.</p>",
        plural(d.count, "score"),
        out_of(d),
        format_points(d.min),
        format_points(d.max)
    );
    histogram(out, d);
    out.push_str("</section>\n");
}

/// The histogram as inline SVG: a bar per bin with its count, the axis
/// labelled at the bin edges, mean (dashed) and median (solid) marked.
fn histogram(out: &mut String, d: &ScoreDistribution) {
    const WIDTH: f64 = 760.0;
    const HEIGHT: f64 = 290.0;
    const LEFT: f64 = 44.0;
    const RIGHT: f64 = 20.0;
    const TOP: f64 = 56.0;
    const BOTTOM: f64 = 42.0;
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let tallest = d.bins.iter().map(|b| b.count).max().unwrap_or(0).max(1);
    let x = |value: f64| LEFT + plot_w * (value / d.out_of).clamp(0.0, 1.0);
    let y = |count: usize| TOP + plot_h * (1.0 - count as f64 / tallest as f64);
    let _ = writeln!(
        out,
        "<svg viewBox=\"0 0 {WIDTH} {HEIGHT}\" width=\"{WIDTH}\" style=\"max-width:100%;height:auto\" role=\"img\" aria-label=\"Histogram of {} scores, mean {}, median {}\">",
        d.count,
        format_points(d.mean),
        format_points(d.median)
    );
    // Axes and horizontal guides at 0, half and the tallest bar.
    let mut guides = vec![0, tallest / 2, tallest];
    guides.dedup();
    for count in guides {
        let _ = writeln!(
            out,
            "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"{}\"/>\
             <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{count}</text>",
            LEFT + plot_w,
            if count == 0 { "#57606a" } else { "#eaeef2" },
            LEFT - 6.0,
            y(count) + 4.0,
            y = y(count),
        );
    }
    let bar_w = plot_w / d.bins.len().max(1) as f64;
    let mut counts: Vec<(f64, f64, usize)> = Vec::new();
    for (i, bin) in d.bins.iter().enumerate() {
        let left = LEFT + bar_w * i as f64;
        if bin.count > 0 {
            let top = y(bin.count);
            let _ = writeln!(
                out,
                "<rect x=\"{:.1}\" y=\"{top:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#6e9bd1\"><title>{} from {} to {}</title></rect>",
                left + 2.0,
                bar_w - 4.0,
                TOP + plot_h - top,
                plural(bin.count, "score"),
                format_points(bin.from),
                format_points(bin.to),
            );
            // Counts go on top of everything (after the mean and median
            // lines), with a white outline so a line never hides one.
            counts.push((left + bar_w / 2.0, top - 5.0, bin.count));
        }
        let _ = writeln!(
            out,
            "<text x=\"{left:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            TOP + plot_h + 18.0,
            format_points(bin.from)
        );
    }
    let _ = writeln!(
        out,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\
         <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
        LEFT + plot_w,
        TOP + plot_h + 18.0,
        format_points(d.out_of),
        LEFT + plot_w / 2.0,
        HEIGHT - 4.0,
        if d.percent { "score (%)" } else { "score" }
    );
    // Mean and median, each labelled on a row of its own above the plot,
    // to the right of its line (to the left near the right edge).
    let marks = [
        ("mean", d.mean, "#cf222e", "6 4", 16.0),
        ("median", d.median, "#1d232a", "none", 32.0),
    ];
    for (label, value, colour, dash, row) in marks {
        let at = x(value);
        let (anchor, shift) = if at > LEFT + plot_w * 0.75 {
            ("end", -6.0)
        } else {
            ("start", 6.0)
        };
        let _ = writeln!(
            out,
            "<line x1=\"{at:.1}\" x2=\"{at:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"{colour}\" stroke-width=\"2\" stroke-dasharray=\"{dash}\"/>\
             <text x=\"{:.1}\" y=\"{row:.1}\" text-anchor=\"{anchor}\" style=\"fill:{colour};font-weight:600\">{label} {}</text>",
            row - 10.0,
            TOP + plot_h,
            at + shift,
            format_points(value)
        );
    }
    for (at, y, count) in counts {
        let _ = writeln!(
            out,
            "<text x=\"{at:.1}\" y=\"{y:.1}\" text-anchor=\"middle\" style=\"paint-order:stroke;stroke:#fff;stroke-width:4px;font-weight:600\">{count}</text>"
        );
    }
    out.push_str("</svg>\n");
}

fn scenarios_section(out: &mut String, scenarios: &[ScenarioOutcome]) {
    out.push_str("<section id=\"scenarios\">\n<h2>Where the class fails</h2>\n");
    if scenarios.is_empty() {
        out.push_str("<p>No scored scenario ran.</p>\n</section>\n");
        return;
    }
    out.push_str(
        "<p class=\"note\">Scored scenarios, highest failure rate first; open one for the students who failed it.</p>\n\
         <p class=\"legend\"><span><span class=\"swatch pass\"></span>passed</span><span><span class=\"swatch fail\"></span>failed</span>\
         <span><span class=\"swatch skip\"></span>skipped</span><span><span class=\"swatch error\"></span>socklab error</span></p>\n",
    );
    let (troubled, clean): (Vec<&ScenarioOutcome>, Vec<&ScenarioOutcome>) = scenarios
        .iter()
        .partition(|s| s.failed + s.error + s.skipped > 0);
    let shown = troubled.len().min(SHOWN_SCENARIOS);
    for scenario in &troubled[..shown] {
        scenario_row(out, scenario);
    }
    if shown < troubled.len() {
        let _ = writeln!(
            out,
            "<details><summary>{} more {} with a lower failure rate</summary>",
            troubled.len() - shown,
            if troubled.len() - shown == 1 {
                "scenario"
            } else {
                "scenarios"
            }
        );
        for scenario in &troubled[shown..] {
            scenario_row(out, scenario);
        }
        out.push_str("</details>\n");
    }
    if !clean.is_empty() {
        let _ = writeln!(
            out,
            "<details><summary>{} passed by every student</summary>\n<p class=\"who\">{}</p>\n</details>",
            plural(clean.len(), "scenario"),
            clean
                .iter()
                .map(|s| format!("<span class=\"name\">{}</span>", breakable(&s.name)))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    out.push_str("</section>\n");
}

/// One scenario's bar, opening the list of students who failed it.
fn scenario_row(out: &mut String, scenario: &ScenarioOutcome) {
    let _ = writeln!(
        out,
        "<details class=\"scenario\"><summary class=\"row\"><span class=\"name\">{}</span>{}<span class=\"rate\">{} of {} failed ({:.0}%)</span></summary>",
        breakable(&scenario.name),
        bar(scenario),
        scenario.failed,
        scenario.total(),
        100.0 * scenario.failure_rate()
    );
    if !scenario.failed_students.is_empty() {
        let _ = writeln!(
            out,
            "<p class=\"who\">Failed: {}</p>",
            links(&scenario.failed_students)
        );
    }
    if !scenario.error_students.is_empty() {
        let _ = writeln!(
            out,
            "<p class=\"who\">socklab error: {}</p>",
            links(&scenario.error_students)
        );
    }
    if scenario.skipped > 0 {
        let _ = writeln!(
            out,
            "<p class=\"who\">Skipped for {} (see their feedback for why).</p>",
            plural(scenario.skipped, "student")
        );
    }
    out.push_str("</details>\n");
}

/// A stacked bar: passed, failed, skipped, error, as shares of the class.
fn bar(scenario: &ScenarioOutcome) -> String {
    let total = scenario.total().max(1) as f64;
    let mut bar = String::from("<span class=\"bar\">");
    for (count, class, what) in [
        (scenario.passed, "pass", "passed"),
        (scenario.failed, "fail", "failed"),
        (scenario.skipped, "skip", "skipped"),
        (scenario.error, "error", "socklab error"),
    ] {
        if count > 0 {
            let _ = write!(
                bar,
                "<span class=\"{class}\" style=\"width:{:.2}%\" title=\"{count} {what}\"></span>",
                100.0 * count as f64 / total
            );
        }
    }
    bar.push_str("</span>");
    bar
}

fn mistakes_section(out: &mut String, groups: &[MistakeGroup]) {
    out.push_str("<section id=\"mistakes\">\n<h2>Common mistakes</h2>\n");
    if groups.is_empty() {
        out.push_str("<p>No check failed.</p>\n</section>\n");
        return;
    }
    out.push_str(
        "<p class=\"note\">Students grouped by the check they failed and how it failed \
         (counts, ports, addresses and paths left out), largest group first, with the hint socklab gave them.</p>\n",
    );
    let shared = groups.iter().filter(|g| g.students.len() > 1).count();
    let shown = shared.max(SHOWN_GROUPS).min(groups.len());
    for group in &groups[..shown] {
        mistake(out, group);
    }
    if shown < groups.len() {
        let _ = writeln!(
            out,
            "<details><summary>{} more {}, each seen in one student</summary>",
            groups.len() - shown,
            if groups.len() - shown == 1 {
                "mistake"
            } else {
                "mistakes"
            }
        );
        for group in &groups[shown..] {
            mistake(out, group);
        }
        out.push_str("</details>\n");
    }
    out.push_str("</section>\n");
}

fn mistake(out: &mut String, group: &MistakeGroup) {
    let s = &group.signature;
    let _ = writeln!(
        out,
        "<article class=\"mistake\">\n<h3><span class=\"count\" title=\"students\">{}</span>{} › {}</h3>\n<p class=\"evidence\">{}</p>",
        group.students.len(),
        text(&s.scenario),
        text(&s.check),
        text(&s.evidence)
    );
    if !group.variants.is_empty() {
        let _ = writeln!(
            out,
            "<p class=\"source\">in {}</p>",
            text(&group.variants.join(", "))
        );
    }
    if let Some(hint) = &group.hint {
        let _ = writeln!(
            out,
            "<p class=\"hint\"><strong>Hint given:</strong> {}</p>",
            text(hint)
        );
    }
    let _ = writeln!(
        out,
        "<p class=\"source\">{}</p>\n<details><summary>{}</summary><p class=\"who\">{}</p></details>\n</article>",
        text(&group.source),
        plural(group.students.len(), "student"),
        links(&group.students)
    );
}

fn builds_section(out: &mut String, groups: &[BuildFailureGroup]) {
    out.push_str("<section id=\"builds\">\n<h2>Build failures</h2>\n");
    if groups.is_empty() {
        out.push_str("<p>Every build succeeded.</p>\n</section>\n");
        return;
    }
    out.push_str(
        "<p class=\"note\">Grouped by the compiler's first error, file names and line numbers left out.</p>\n",
    );
    for group in groups {
        let _ = writeln!(
            out,
            "<article class=\"build\">\n<h3><span class=\"count\" title=\"students\">{}</span>{}</h3>",
            group.students.len(),
            text(&group.key)
        );
        if !group.programs.is_empty() {
            let _ = writeln!(
                out,
                "<p>Programs: <span class=\"name\">{}</span></p>",
                text(&group.programs.join(", "))
            );
        }
        let _ = writeln!(
            out,
            "<p class=\"evidence\">{}</p>\n<details><summary>{}</summary><p class=\"who\">{}</p></details>\n</article>",
            text(&group.example),
            plural(group.students.len(), "student"),
            links(&group.students)
        );
    }
    out.push_str("</section>\n");
}

fn others_section(out: &mut String, class: &ClassReport) {
    if class.not_submissions.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "<section id=\"not-submissions\">\n<h2>Not submissions</h2>\n\
         <p>Neither a folder nor an archive, so not graded and left out of every figure above: {}.</p>\n</section>",
        links(&class.not_submissions)
    );
}

fn students_section(out: &mut String, students: &[StudentScore]) {
    if students.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "<section id=\"students\">\n<h2>Students</h2>\n<details><summary>All {}, by name, with their score</summary>\n\
         <table class=\"students\">\n<tr><th>Student</th><th>Score</th><th>Status</th></tr>",
        match students.len() {
            1 => "1 entry".to_string(),
            n => format!("{n} entries"),
        }
    );
    for s in students {
        let score = match s.score {
            Some(score) => format!("{} / {}", format_points(score), format_points(s.max_score)),
            None => "—".to_string(),
        };
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{score}</td><td>{}</td></tr>",
            links(std::slice::from_ref(&s.student)),
            text(&s.status)
        );
    }
    out.push_str("</table>\n</details>\n</section>\n");
}

fn settings_section(out: &mut String, class: &ClassReport) {
    let s = &class.settings;
    out.push_str("<section id=\"settings\">\n<h2>Run settings</h2>\n<table>\n");
    for (label, seen) in [
        ("socklab version", &s.socklab_versions),
        ("isolation level", &s.isolation_levels),
        ("course options", &s.options),
        ("limits and notes", &s.notes),
    ] {
        let _ = writeln!(
            out,
            "<tr><th>{label}</th><td>{}</td></tr>",
            seen_list(seen, class.submissions)
        );
    }
    out.push_str("</table>\n</section>\n");
}

/// Values as a list, each with its count of students unless every
/// submission had it.
fn seen_list(seen: &[Seen], everyone: usize) -> String {
    if seen.is_empty() {
        return "(none)".to_string();
    }
    let items: Vec<String> = seen
        .iter()
        .map(|s| {
            if s.students == everyone {
                format!("<li>{}</li>", text(&s.value))
            } else {
                format!(
                    "<li>{} <span class=\"meta\">({})</span></li>",
                    text(&s.value),
                    plural(s.students, "submission")
                )
            }
        })
        .collect();
    format!("<ul class=\"seen\">{}</ul>", items.join(""))
}

/// Students as links to their feedback pages (names alone where no folder
/// is known).
fn links(students: &[StudentRef]) -> String {
    students
        .iter()
        .map(|s| match &s.folder {
            Some(folder) => format!(
                "<a href=\"students/{}/feedback.html\">{}</a>",
                url_segment(folder),
                text(&one_line(&s.name))
            ),
            None => text(&one_line(&s.name)),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A folder name as one URL path segment: anything but letters, digits and
/// `-._~` percent-encoded.
fn url_segment(folder: &str) -> String {
    let mut out = String::with_capacity(folder.len());
    for byte in folder.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

fn text(value: &str) -> String {
    html_escape(value)
}

/// A scenario name that may wrap before its matrix variant.
fn breakable(name: &str) -> String {
    text(name).replace('[', "<wbr>[")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_names_are_one_url_segment() {
        assert_eq!(url_segment("a_b-1c2d3e4f"), "a_b-1c2d3e4f");
        assert_eq!(url_segment("../x y"), "..%2Fx%20y");
        assert_eq!(url_segment("\"><script>"), "%22%3E%3Cscript%3E");
    }
}
