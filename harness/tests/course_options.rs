//! Course options switch the suite: scenarios carry `when:` conditions on
//! lab.yaml's `options:`, and only those that match are run, scored and
//! reported. Each test writes a copy of lab.yaml with other options into a
//! temporary folder (`common::lab_with`) and grades reference programs
//! under it.

mod common;

use std::collections::BTreeSet;

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
    assert_eq!(ran.len(), 10, "{ran:?}");

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
        text.contains("not for these course options: ") && text.contains("echo/sum-variant"),
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
