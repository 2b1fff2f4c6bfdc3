//! Course options switch the suite: scenarios carry `when:` conditions on
//! lab.yaml's `options:`, and only those that match are run, scored and
//! reported. Each test writes a copy of lab.yaml with other options into a
//! temporary folder (`common::lab_with`) and grades reference programs
//! under it.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;

use common::*;

fn names(report: &serde_json::Value) -> BTreeSet<String> {
    report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

const SUM_DEPENDENT: &[&str] = &[
    "echo/short-line[client=submission,server=submission]",
    "echo/short-line[client=reference,server=submission]",
    "echo/long-stream",
    "echo/client-many-lines[server=submission]",
    "echo/two-clients-at-once",
];

#[test]
fn echo_mode_sum_grades_a_sum_server_right_and_an_echo_server_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let lab = lab_with(dir.path(), &[("echo_mode", "sum")]);

    let sum = dir.path().join("sum");
    reference_submission(
        &sum,
        &[("tcpserv", "echo-server --concurrency fork --mode sum")],
    );
    let (out, report) = run_json(&[lab.to_str().unwrap(), "--only", "echo/"], &sum);
    let failed = scenarios_with(&report, "failed");
    assert!(
        failed.is_empty() && scenarios_with(&report, "error").is_empty(),
        "a sum server under echo_mode sum: failed {failed:?}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0));
    let ran = names(&report);
    for name in SUM_DEPENDENT {
        assert!(ran.contains(*name), "{name} runs in sum mode: {ran:?}");
    }
    // The echo-only check of the client against tcpserv08 is not part of a
    // sum course (echo/short-line runs the client against the sum server).
    assert!(!ran.contains("echo/sum-variant"), "{ran:?}");
    assert_eq!(ran.len(), 11, "{ran:?}");

    // The same sum server in the default (echo) course fails the echo checks.
    let (_, report) = run_json(&[lab3().to_str().unwrap(), "--only", "echo/"], &sum);
    let failed: BTreeSet<String> = scenarios_with(&report, "failed").into_iter().collect();
    assert_eq!(
        failed,
        set(SUM_DEPENDENT),
        "sum server under echo_mode echo"
    );

    // And an echo server in a sum course fails exactly the sum checks.
    let echo = dir.path().join("echo");
    reference_submission(&echo, &[]);
    let (out, report) = run_json(&[lab.to_str().unwrap(), "--only", "echo/"], &echo);
    assert_eq!(out.status.code(), Some(1));
    let failed: BTreeSet<String> = scenarios_with(&report, "failed").into_iter().collect();
    assert_eq!(
        failed,
        set(SUM_DEPENDENT),
        "echo server under echo_mode sum"
    );
}

const ITERATIVE: &[&str] = &[
    "ft/iterative-several-files[client=submission,server=submission]",
    "ft/iterative-several-files[client=submission,server=reference]",
    "ft/iterative-several-files[client=reference,server=submission]",
];

#[test]
fn ft_iterative_marker_grades_a_marker_pair_right_and_a_new_connection_pair_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let lab = lab_with(dir.path(), &[("ft_iterative", "marker")]);

    let marker = dir.path().join("marker");
    reference_submission(
        &marker,
        &[
            ("FTServerIter", "ft-server --iterative marker"),
            ("FTClientIter", "ft-client --iterative marker"),
        ],
    );
    let (out, report) = run_json(&[lab.to_str().unwrap(), "--only", "ft/iterative"], &marker);
    assert_eq!(
        scenarios_with(&report, "passed"),
        ITERATIVE,
        "a marker pair under ft_iterative marker\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0));

    // The good C submission uses a new connection per file: its server
    // never sees the second path on the first connection.
    let (out, report) = run_json(&[lab.to_str().unwrap(), "--only", "ft/iterative"], &good());
    assert_eq!(out.status.code(), Some(1));
    let failed: BTreeSet<String> = scenarios_with(&report, "failed").into_iter().collect();
    assert_eq!(
        failed,
        set(ITERATIVE),
        "new-connection programs under marker"
    );

    // The marker pair in the default (new-connection) course fails too.
    let (_, report) = run_json(
        &[lab3().to_str().unwrap(), "--only", "ft/iterative"],
        &marker,
    );
    let failed: BTreeSet<String> = scenarios_with(&report, "failed").into_iter().collect();
    assert_eq!(
        failed,
        set(ITERATIVE),
        "marker programs under new-connection"
    );
}

#[test]
fn left_out_scenarios_are_not_in_the_grades() {
    let dir = tempfile::tempdir().unwrap();
    let lab = lab_with(dir.path(), &[("echo_mode", "sum")]);
    let listed = socklab().arg("list").arg(&lab).output().unwrap();
    let text = String::from_utf8_lossy(&listed.stdout);
    assert!(!text.contains("echo/sum-variant"), "{text}");
    assert!(text.contains("echo/long-stream"), "{text}");
    let validated = socklab().arg("validate").arg(&lab).output().unwrap();
    let text = String::from_utf8_lossy(&validated.stdout);
    assert!(
        text.contains("written for other course options, left out of the suite")
            && text.contains("echo/sum-variant"),
        "{text}"
    );

    let class = dir.path().join("class");
    reference_submission(
        &class.join("sum"),
        &[("tcpserv", "echo-server --concurrency fork --mode sum")],
    );
    let out = dir.path().join("out");
    grade_class(&lab, &class, &out, &[], &[]);
    let csv = std::fs::read_to_string(out.join("grades.csv")).unwrap();
    let header = csv.lines().next().unwrap();
    assert!(!header.contains("echo/sum-variant"), "{header}");
    assert!(header.contains("echo/long-stream"), "{header}");
    let report = student_report(&out, "sum");
    assert_eq!(report["score"], report["max_score"], "full marks");
}

/// An iterative file-transfer convention: lab.yaml's three options and the
/// reference flags of a submission that follows it.
struct Convention {
    options: [(&'static str, &'static str); 3],
    flags: &'static str,
}

const LEN_0_TERMINATE: Convention = Convention {
    options: [
        ("ft_iterative", "one-connection"),
        ("ft_end_of_file", "len-0"),
        ("ft_end_of_session", "client-sends TERMINATE CONNECTION"),
    ],
    flags: "--iterative one-connection --end-of-file len-0 --end-of-session \"client-sends TERMINATE CONNECTION\"",
};
const MARKER: Convention = Convention {
    options: [
        ("ft_iterative", "marker"),
        ("ft_end_of_file", "len-0"),
        ("ft_end_of_session", "client-closes"),
    ],
    flags: "--iterative marker",
};
const SHORT_CLOSE: Convention = Convention {
    options: [
        ("ft_iterative", "one-connection"),
        ("ft_end_of_file", "short-segment"),
        ("ft_end_of_session", "client-closes"),
    ],
    flags: "--iterative one-connection --end-of-file short-segment --end-of-session client-closes",
};
const SHORT_TERMINATE: Convention = Convention {
    options: [
        ("ft_iterative", "one-connection"),
        ("ft_end_of_file", "short-segment"),
        ("ft_end_of_session", "client-sends TERMINATE CONNECTION"),
    ],
    flags: "--iterative one-connection --end-of-file short-segment --end-of-session \"client-sends TERMINATE CONNECTION\"",
};

/// The iterative scenarios a pair following `own` must fail in a course
/// using `course`, whatever the timing: where the files are cut differently
/// both mixed pairs copy wrong; where only the session's end differs, the
/// reference server of the pair that expects the text fails when the other
/// side closes without it (the other mixed pair may or may not fail: a
/// server that takes the text for a path answers a client that has gone).
fn must_fail(own: &Convention, course: &Convention) -> BTreeSet<String> {
    let end_of_file = |c: &Convention| c.options[1].1;
    let session = |c: &Convention| c.options[2].1;
    let mut failing = Vec::new();
    if end_of_file(own) != end_of_file(course) {
        failing.push(ITERATIVE[1]);
        failing.push(ITERATIVE[2]);
    } else if session(own) == "client-closes" {
        // The student client closes; the course's reference server wanted the text.
        failing.push(ITERATIVE[1]);
    } else {
        // The course's reference client closes; the student server wanted the text.
        failing.push(ITERATIVE[2]);
    }
    set(&failing)
}

#[test]
fn each_iterative_convention_passes_under_its_own_options_and_fails_under_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let conventions = [&MARKER, &LEN_0_TERMINATE, &SHORT_CLOSE, &SHORT_TERMINATE];
    let labs: Vec<PathBuf> = conventions
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let lab_dir = dir.path().join(format!("course{i}"));
            std::fs::create_dir_all(&lab_dir).unwrap();
            lab_with(&lab_dir, &c.options)
        })
        .collect();
    let pairs: Vec<PathBuf> = conventions
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let submission = dir.path().join(format!("pair{i}"));
            let server = format!("ft-server {}", c.flags);
            let client = format!("ft-client {}", c.flags);
            reference_submission(
                &submission,
                &[("FTServerIter", &server), ("FTClientIter", &client)],
            );
            submission
        })
        .collect();
    // Every pair under every course, four at a time: a pair that waits for
    // a marker that never comes waits for its step's deadline, and more at
    // once would starve the timing of the other tests running beside this one.
    let mut runs = Vec::new();
    for (p, pair) in pairs.iter().enumerate() {
        for (l, lab) in labs.iter().enumerate() {
            runs.push((p, l, pair, lab));
        }
    }
    let mut results: Vec<(usize, usize, Option<i32>, serde_json::Value, String)> = Vec::new();
    for batch in runs.chunks(4) {
        results.extend(std::thread::scope(|scope| {
            let handles: Vec<_> = batch
                .iter()
                .map(|(p, l, pair, lab)| {
                    scope.spawn(move || {
                        let (out, report) =
                            run_json(&[lab.to_str().unwrap(), "--only", "ft/iterative"], pair);
                        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
                        (*p, *l, out.status.code(), report, stderr)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap())
                .collect::<Vec<_>>()
        }));
    }
    for (p, l, code, report, stderr) in results {
        let (own, course) = (conventions[p], conventions[l]);
        if p == l {
            assert_eq!(
                scenarios_with(&report, "passed"),
                ITERATIVE,
                "the `{}` pair under its own options\n{stderr}",
                own.flags
            );
            assert_eq!(code, Some(0));
            continue;
        }
        let failed: BTreeSet<String> = scenarios_with(&report, "failed").into_iter().collect();
        let expected = must_fail(own, course);
        assert!(
            failed.is_superset(&expected) && !failed.contains(ITERATIVE[0]),
            "the `{}` pair under {:?}: failed {failed:?}, expected at least {expected:?} (and never the pair with itself)",
            own.flags,
            course.options
        );
        assert_eq!(code, Some(1));
    }
}

/// The course's daytime programs use port 12345, not the book's 13: under
/// the default option the feedback names the port they do listen on and the
/// option to set; with `--option daytime_port=12345` they pass.
#[test]
fn daytime_on_the_courses_port_is_named_then_graded_with_the_option() {
    let dir = tempfile::tempdir().unwrap();
    let submission = lay_out_fixture("daytime-course-port", dir.path());
    let lab = lab3();
    let lab = lab.to_str().unwrap();

    let (_, report) = run_json(&[lab, "--only", "daytime/server-sends-time"], &submission);
    let failed = scenarios_with(&report, "failed");
    assert_eq!(failed, vec!["daytime/server-sends-time-and-closes"]);
    let check = report["scenarios"][0]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["status"] == "failed")
        .expect("a failed check")
        .clone();
    let message = check["message"].as_str().unwrap();
    assert!(
        message.contains("did not listen on port 13") && message.contains("listens on port 12345"),
        "{message}"
    );
    let hint = check["hint"].as_str().unwrap();
    assert!(
        hint.contains("daytime_port: 12345") && hint.contains("--option daytime_port=12345"),
        "{hint}"
    );

    let (out, report) = run_json(
        &[lab, "--only", "daytime/", "--option", "daytime_port=12345"],
        &submission,
    );
    assert!(
        scenarios_with(&report, "failed").is_empty() && scenarios_with(&report, "error").is_empty(),
        "under daytime_port 12345: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Under --only the maximum is the selection's share of the suite's
    // total, unrounded; the score is rounded to hundredths.
    let (score, max) = (
        report["score"].as_f64().unwrap(),
        report["max_score"].as_f64().unwrap(),
    );
    assert!((score - max).abs() < 0.005, "full marks: {score} of {max}");
}
