//! The class model, the class page, mistakes.csv and the summary's mistakes,
//! on hand-built classes (the fixture class graded for real is in
//! `harness/tests/class_report.rs`).

use socklab_report::class::{ClassMember, ClassReport};
use socklab_report::model::*;
use socklab_report::{render_class_page, render_class_summary, render_mistakes_csv};

use crate::fixtures::*;

const ZOMBIE_HINT: &str =
    "Reap every child: loop on waitpid(-1, &status, WNOHANG) in the SIGCHLD handler.";

/// A student whose server leaves `zombies` zombie children (0: passes).
fn echo_student(name: &str, zombies: u32, port: u16) -> SubmissionReport {
    let mut report = passing();
    report.submission = name.to_string();
    let mut reaped = scenario("echo/children-are-reaped", ScenarioStatus::Passed, 6.0, 6.0);
    reaped.source = socklab_report::SourceRef::new("scenarios/lab3/echo.yaml", 290);
    if zombies > 0 {
        reaped.status = ScenarioStatus::Failed;
        reaped.earned = 0.0;
        let mut check = check(
            "no zombie children remain after five clients leave together",
            334,
            CheckStatus::Failed,
        );
        check.message = format!(
            "tcpserv (submission): {zombies} children, {zombies} of them zombies (exited but never waited for); its TCP sockets: 127.0.0.1:{port} listening"
        );
        check.observed = Some(format!("{zombies} children, {zombies} of them zombies"));
        check.hint = Some(ZOMBIE_HINT.to_string());
        reaped.checks.push(check);
        reaped.transcripts.push(transcript(
            "program srv (tcpserv, submission) stdout",
            &"child terminated\n".repeat(200),
        ));
    }
    report.scenarios.push(reaped);
    let scored: f64 = report.scored_scenarios().map(|s| s.earned).sum();
    report.max_score = 30.0;
    report.score = scored * 30.0 / report.scored_points();
    report
}

/// A student whose client sends text where a 4-byte int belongs, seen in
/// two matrix variants.
fn text_client(name: &str) -> SubmissionReport {
    let mut report = echo_student(name, 0, 1);
    for variant in [
        "[client=submission,server=submission]",
        "[client=submission,server=reference]",
    ] {
        let mut session = scenario(
            &format!("lottery/session{variant}"),
            ScenarioStatus::Failed,
            0.0,
            3.0,
        );
        let mut check = check("GEN is sent as a 4-byte int", 119, CheckStatus::Failed);
        check.message = "received 2 of 4 expected bytes: nothing more arrived in time".to_string();
        check.observed = Some("30 0a (0\\n)".to_string());
        check.hint = Some("Send the command as an int with write(fd, &n, 4).".to_string());
        session.checks.push(check);
        report.scenarios.push(session);
    }
    report.score =
        report.scored_scenarios().map(|s| s.earned).sum::<f64>() * 30.0 / report.scored_points();
    report
}

fn members(reports: &[SubmissionReport]) -> Vec<ClassMember<'_>> {
    reports
        .iter()
        .map(|report| ClassMember {
            report,
            folder: Some(report.submission.as_str()),
        })
        .collect()
}

fn class_of(reports: &[SubmissionReport]) -> ClassReport {
    ClassReport::build(&members(reports))
}

fn fixture_class() -> Vec<SubmissionReport> {
    vec![
        echo_student("dan", 5, 40001),
        echo_student("amy", 3, 51234),
        echo_student("cat", 15, 9877),
        echo_student("ben", 0, 40002),
        text_client("eve"),
        troubled(),
        not_a_submission(),
    ]
}

#[test]
fn the_same_mistake_in_different_students_is_one_group() {
    let class = class_of(&fixture_class());
    let zombies = &class.mistakes[0];
    assert_eq!(zombies.signature.scenario, "echo/children-are-reaped");
    assert_eq!(
        zombies.signature.evidence,
        "tcpserv: N children, N of them zombies (exited but never waited for)"
    );
    let names: Vec<&str> = zombies.students.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["amy", "cat", "dan"], "largest group first, by name");
    assert_eq!(zombies.hint.as_deref(), Some(ZOMBIE_HINT));
    assert_eq!(zombies.source, "scenarios/lab3/echo.yaml:334");
    assert_eq!(zombies.students[0].folder.as_deref(), Some("amy"));

    let text = class
        .mistakes
        .iter()
        .find(|g| g.signature.scenario == "lottery/session")
        .expect("the text client's group");
    assert_eq!(
        text.students.len(),
        1,
        "one student, though seen in two variants"
    );
    assert_eq!(
        text.variants,
        [
            "[client=submission,server=reference]",
            "[client=submission,server=submission]"
        ]
    );
    assert!(
        text.signature.evidence.ends_with("— got text"),
        "{:?}",
        text.signature
    );
    // bob's failed lottery check is a group of its own.
    assert!(class.mistakes.iter().any(|g| g.students[0].name == "bob"));
}

#[test]
fn the_model_does_not_depend_on_the_order_students_finished_in() {
    let forward = fixture_class();
    let mut backward = forward.clone();
    backward.reverse();
    assert_eq!(class_of(&forward), class_of(&backward));
    // Nor on how long anything took.
    let mut slower = forward.clone();
    for report in &mut slower {
        report.duration_secs *= 3.0;
        for scenario in &mut report.scenarios {
            scenario.duration_secs += 1.0;
        }
    }
    assert_eq!(class_of(&forward), class_of(&slower));
}

#[test]
fn scores_scenarios_builds_and_settings() {
    let class = class_of(&fixture_class());
    assert_eq!(class.submissions, 6, "erin.txt is not one");
    let names: Vec<&str> = class
        .not_submissions
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(names, ["erin.txt"]);
    let d = &class.distribution;
    assert_eq!(d.count, 6);
    assert_eq!(d.out_of, 30.0);
    assert_eq!(d.bins.len(), 10);
    assert_eq!(d.bins.iter().map(|b| b.count).sum::<usize>(), 6);
    assert_eq!(d.bins[9].count, 1, "ben's 30 is in the last bin");
    assert_eq!(d.max, 30.0);
    assert!(d.min <= d.median && d.median <= d.max && d.mean > 0.0);

    // Worst scenario first: 3 of 5 failed children-are-reaped.
    let first = &class.scenarios[0];
    assert!(
        first.name == "ft-transfer" || first.name.starts_with("lottery/session"),
        "100% failure rates come first: {:?}",
        class
            .scenarios
            .iter()
            .map(|s| (&s.name, s.failure_rate()))
            .collect::<Vec<_>>()
    );
    let reaped = class
        .scenarios
        .iter()
        .find(|s| s.name == "echo/children-are-reaped")
        .unwrap();
    assert_eq!((reaped.passed, reaped.failed), (2, 3));
    let who: Vec<&str> = reaped
        .failed_students
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(who, ["amy", "cat", "dan"]);
    let rates: Vec<f64> = class.scenarios.iter().map(|s| s.failure_rate()).collect();
    assert!(rates.windows(2).all(|w| w[0] >= w[1]), "{rates:?}");
    assert!(
        class.scenarios.iter().all(|s| s.name != "echo-zombies"),
        "observe-only left out"
    );

    assert_eq!(class.build_failures.len(), 1);
    let build = &class.build_failures[0];
    assert_eq!(build.key, "error: expected ';' before 'return'");
    assert_eq!(build.programs, ["FTClient"]);
    assert_eq!(build.students[0].name, "bob");

    let levels: Vec<(&str, usize)> = class
        .settings
        .isolation_levels
        .iter()
        .map(|s| (s.value.as_str(), s.students))
        .collect();
    assert_eq!(levels, [("namespaces", 5), ("loopback", 1)]);
}

#[test]
fn the_page_is_self_contained_escaped_and_links_to_feedback() {
    let mut reports = fixture_class();
    reports.push(hostile());
    reports[0].options.insert("echo_mode".into(), "sum".into());
    let page = render_class_page(&class_of(&reports));
    assert!(page.starts_with("<!DOCTYPE html>"));
    for forbidden in ["<script", "http://", "https://", "src=", "@import", "url("] {
        assert!(!page.contains(forbidden), "{forbidden} in the page");
    }
    assert!(page.contains("default-src 'none'"), "a CSP forbids fetches");
    assert!(page.contains("<svg") && page.contains("mean ") && page.contains("median "));
    assert!(page.contains("<details"));
    assert!(page.contains("<a href=\"students/amy/feedback.html\">amy</a>"));
    assert!(
        page.contains("<a href=\"students/ben/feedback.html\">ben</a>"),
        "everyone is in the list of students, those who passed too"
    );
    assert!(page.contains(&ZOMBIE_HINT.replace('&', "&amp;")));
    assert!(page.contains("tcpserv: N children, N of them zombies"));
    assert!(page.contains("echo_mode=sum"));
    assert!(page.contains("erin.txt"));
    // The hostile student's name is text, and the folder is one URL segment.
    assert!(page.contains("&lt;/pre&gt;&lt;script&gt;"));
    assert!(
        !page.contains("child terminated"),
        "no transcript on the class page"
    );
}

#[test]
fn mistakes_csv_has_a_row_per_group() {
    let mut reports = fixture_class();
    reports[1].submission = "=HYPERLINK(\"x\")".to_string();
    let class = class_of(&reports);
    let csv = render_mistakes_csv(&class);
    let lines: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(
        lines[0],
        "signature,scenario,check,evidence,count,students,hint"
    );
    assert_eq!(lines.len(), 1 + class.mistakes.len());
    assert!(
        lines[1].starts_with(
            "\"echo/children-are-reaped › no zombie children remain after five clients leave together › tcpserv: N children, N of them"
        ),
        "{}",
        lines[1]
    );
    assert!(
        lines[1].contains(",3,\"'=HYPERLINK(\"\"x\"\"); cat; dan\","),
        "count, then students with a formula neutralised: {}",
        lines[1]
    );
}

#[test]
fn the_summary_ends_with_the_largest_mistakes() {
    let text = render_class_summary(&fixture_class());
    assert!(
        text.starts_with("socklab class summary: lab3, 6 submissions\n"),
        "{text}"
    );
    assert!(text.contains("not a submission: 1 (erin.txt)\n"), "{text}");
    let tail = text
        .split("common mistakes")
        .nth(1)
        .expect("a mistakes part");
    assert!(tail.starts_with(" (3 largest of 3 groups"), "{tail}");
    let lines: Vec<&str> = tail.lines().collect();
    assert!(
        lines[1].starts_with("   3 students  echo/children-are-reaped › no zombie children"),
        "{tail}"
    );
    assert!(lines[2].contains("tcpserv: N children"), "{tail}");
    assert_eq!(lines[3].trim(), "amy, cat, dan");
}

/// A synthetic class of `n` students with varied results: each fails a
/// few of 36 scenarios in one of several ways, with numbers, ports and paths
/// that differ from student to student, and long transcripts.
pub fn synthetic_class(n: usize) -> Vec<SubmissionReport> {
    let mut seed: u64 = 0x5eed;
    let mut next = move |bound: u64| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) % bound
    };
    let ways = [
        (
            "tcpserv (submission): {n} children, {n} of them zombies (exited but never waited for)",
            None,
        ),
        (
            "received {n} of 4 expected bytes: nothing more arrived in time",
            Some("30 0a (0\\n)"),
        ),
        (
            "FTClient (submission) exited with code 1",
            Some(
                "FTClient (submission) exited with code 1; stderr: connect: Connection refused\\n",
            ),
        ),
        (
            "LotteryClient (submission) did not print the expected text in time; it is still sleeping (blocked waiting for input); its TCP sockets: 127.0.0.1:{port} → 127.0.0.1:9877",
            None,
        ),
        (
            "programs/cli/copy is not a byte-exact copy of fixture `data`",
            Some(
                "expected 3000 bytes (sha256 7eb2470a7c00…), got {n} bytes (sha256 9f961781bf4f…)",
            ),
        ),
        (
            "LotteryServer (submission) did not exit in time",
            Some("LotteryServer (submission) is still sleeping (blocked in accept())"),
        ),
    ];
    (0..n)
        .map(|i| {
            let mut scenarios = Vec::new();
            let failing: Vec<u64> = (0..next(6)).map(|_| next(36)).collect();
            for s in 0..36u64 {
                let name = if s % 4 == 0 {
                    format!("group{}/scenario-{s}[client=submission,server=reference]", s / 6)
                } else {
                    format!("group{}/scenario-{s}", s / 6)
                };
                let mut report = scenario(&name, ScenarioStatus::Passed, 3.0, 3.0);
                if failing.contains(&s) {
                    report.status = ScenarioStatus::Failed;
                    report.earned = 0.0;
                    let way = (s as usize + next(2) as usize) % ways.len();
                    let (message, observed) = ways[way];
                    let mut fill = |t: &str| {
                        t.replace("{n}", &(next(300) + 1).to_string())
                            .replace("{port}", &(30000 + next(30000)).to_string())
                    };
                    let mut check = check(&format!("check {} of scenario {s}", way), 10 + s as u32, CheckStatus::Failed);
                    check.message = fill(message);
                    check.observed = observed.map(&mut fill);
                    check.hint = Some(format!("A hint of about one line explaining mistake {way}: what the protocol says, and the call to use instead."));
                    report.checks.push(check);
                }
                report.transcripts.push(transcript("program cli stdout", &"x".repeat(2000)));
                scenarios.push(report);
            }
            let earned: f64 = scenarios.iter().map(|s| s.earned).sum();
            let mut report = passing();
            report.submission = format!("student{i:03}");
            report.scenarios = scenarios;
            report.max_score = 100.0;
            report.score = earned * 100.0 / 108.0;
            if i % 50 == 7 {
                report.build = troubled().build;
            }
            report
        })
        .collect()
}

#[test]
fn a_class_of_300_gives_a_small_page() {
    let reports = synthetic_class(300);
    let class = class_of(&reports);
    let page = render_class_page(&class);
    let csv = render_mistakes_csv(&class);
    let transcripts: usize = reports
        .iter()
        .flat_map(|r| &r.scenarios)
        .flat_map(|s| &s.transcripts)
        .map(|t| t.text.len())
        .sum();
    eprintln!(
        "class of 300: index.html {} bytes ({} KiB), mistakes.csv {} bytes, {} mistake groups, {} MiB of transcripts left out",
        page.len(),
        page.len() / 1024,
        csv.len(),
        class.mistakes.len(),
        transcripts >> 20
    );
    // SOCKLAB_SAVE_CLASS_PAGE=FILE keeps the page to look at.
    if let Some(path) = std::env::var_os("SOCKLAB_SAVE_CLASS_PAGE") {
        std::fs::write(path, &page).unwrap();
    }
    assert_eq!(class.submissions, 300);
    assert!(
        class.mistakes.len() < 100,
        "varying numbers and ports do not split groups: {} groups",
        class.mistakes.len()
    );
    assert!(page.len() < 400 * 1024, "{} bytes", page.len());
}
