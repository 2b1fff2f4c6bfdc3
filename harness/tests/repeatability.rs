//! The same submission gets the same verdicts every run: the fixtures whose
//! verdicts once depended on timing (how the kernel split bytes on
//! loopback, whether SIGCHLDs merged, whether a close was a FIN or an RST)
//! are each graded [`RUNS`] times, as [`RUNS`] students in one
//! `socklab grade` batch limited to the scenarios that matter (`--only`,
//! `-j 2`), and every copy must get the same verdict for every scenario and,
//! in observe-only scenarios, the same held / did not hold for every check.
//!
//! Delivery is the scenario's (socklab's proxy and peers write whole
//! messages at the reader's pace, or split every message every time), so a
//! difference here is a bug to fix, never an expectation to widen.

mod common;

use std::collections::BTreeMap;

use common::*;

/// How many times each fixture is graded.
const RUNS: usize = 20;

/// A timing-sensitive fixture (or `good`) and the scenarios that matter
/// for it (`--only` filters: a scenario whose name contains one of them).
const SENSITIVE: &[(&str, &[&str])] = &[
    (
        "ft-single-read",
        &[
            "ft/client-writes-exact-copy",
            "ft/client-handles-split-segments",
            "ft/student-to-student",
            "twohosts/file-transfer",
        ],
    ),
    ("sigchld-wait-once", &["echo/children-are-reaped"]),
    (
        "echo-client-single-read",
        &[
            "echo/client-handles-split-replies",
            "echo/client-many-lines",
        ],
    ),
    (
        "lottery-server-split-command",
        &["lottery/server-split-command"],
    ),
    (
        "ft-server-split-path",
        &["ft/server-split-path", "ft/server-missing-file"],
    ),
    (
        "lottery-server-sigpipe",
        &["lottery/client-leaves-without-end"],
    ),
    // A correct server meets a split path and a split command the same way
    // every run (it may close before or after the second piece arrives).
    (
        "good",
        &["ft/server-split-path", "lottery/server-split-command"],
    ),
];

/// What a report says about one scenario, for comparing runs: its status,
/// and for an observe-only scenario whether each check held.
fn verdicts(report: &serde_json::Value) -> BTreeMap<String, String> {
    report["scenarios"]
        .as_array()
        .expect("scenarios")
        .iter()
        .map(|s| {
            let mut verdict = s["status"].as_str().unwrap_or("?").to_string();
            if s["observe"] == true {
                let held: Vec<&str> = s["checks"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|c| match c["held"].as_bool() {
                        Some(true) => "held",
                        Some(false) => "did not hold",
                        None => "not reached",
                    })
                    .collect();
                verdict = format!("{verdict} ({})", held.join(", "));
            }
            (s["name"].as_str().unwrap_or("?").to_string(), verdict)
        })
        .collect()
}

/// About 100 s on the shared 2-core machine (20 copies of each fixture
/// built and graded, 140 gradings, since the runner decides instead of
/// waiting out deadlines), so it runs with every `cargo test`.
#[test]
fn timing_sensitive_fixtures_get_the_same_verdicts_every_run() {
    let root = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let mut problems = Vec::new();
    for (fixture, only) in SENSITIVE {
        let batch = root.path().join(fixture);
        let class = batch.join("class");
        let out = batch.join("out");
        std::fs::create_dir_all(&class).unwrap();
        let one = if *fixture == "good" {
            let dest = batch.join("good");
            copy_dir(&good(), &dest);
            dest
        } else {
            lay_out_fixture(fixture, &batch)
        };
        let students: Vec<String> = (1..=RUNS).map(|i| format!("{fixture}-{i:02}")).collect();
        for student in &students {
            copy_dir(&one, &class.join(student));
        }
        let mut args = vec!["-j", "2"];
        for filter in *only {
            args.extend(["--only", filter]);
        }
        grade_class(&lab3(), &class, &out, &args, &[]);

        let mut seen: BTreeMap<BTreeMap<String, String>, Vec<&str>> = BTreeMap::new();
        for student in &students {
            let report = student_report(&out, student);
            seen.entry(verdicts(&report)).or_default().push(student);
        }
        let graded = seen.keys().next().expect("a verdict");
        assert!(
            only.iter()
                .all(|filter| graded.keys().any(|name| name.contains(filter))),
            "{fixture}: every scenario that matters was graded: {graded:?}"
        );
        if seen.len() != 1 {
            let shown: Vec<String> = seen
                .iter()
                .map(|(verdicts, who)| format!("  {} runs: {verdicts:?}", who.len()))
                .collect();
            problems.push(format!(
                "{fixture}: {} different verdicts in {RUNS} runs:\n{}",
                seen.len(),
                shown.join("\n")
            ));
        }
    }
    eprintln!(
        "graded {} fixtures {RUNS} times each in {:.0} s",
        SENSITIVE.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
