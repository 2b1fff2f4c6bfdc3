//! The Lab 3 suite grades right: the good submission gets full marks, and
//! each known-broken submission fails exactly the scenarios its defect
//! explains (tests/fixtures/submissions/README.md).
//!
//! All fixtures are graded in one `socklab grade` batch, the way a TA would.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;

/// Fixture → scenarios that must fail, and scenarios that may fail (timing).
fn expectations() -> BTreeMap<&'static str, (Vec<&'static str>, Vec<&'static str>)> {
    let mut e = BTreeMap::new();
    e.insert("good", (vec![], vec![]));
    e.insert("with-makefile", (vec![], vec![]));
    e.insert(
        "echo-iterative",
        (
            vec!["echo/two-clients-at-once", "echo/children-are-reaped"],
            vec![],
        ),
    );
    e.insert(
        "sigchld-wait-once",
        (vec!["echo/children-are-reaped"], vec![]),
    );
    e.insert(
        "sigchld-no-handler",
        (vec!["echo/children-are-reaped"], vec![]),
    );
    e.insert(
        "lottery-repeats",
        (vec!["lottery/server-generates-six-distinct"], vec![]),
    );
    e.insert(
        "lottery-no-full",
        (vec!["lottery/server-full-and-list"], vec![]),
    );
    e.insert(
        "bind-loopback",
        (vec!["twohosts/lottery", "twohosts/file-transfer"], vec![]),
    );
    e.insert(
        "client-ignores-address",
        (vec!["twohosts/lottery", "twohosts/file-transfer"], vec![]),
    );
    e.insert(
        "bind-error-ignored",
        (vec!["lottery/second-server-same-port"], vec![]),
    );
    e.insert(
        "ft-whole-buffer",
        (
            vec![
                "ft/client-writes-exact-copy",
                "ft/student-to-student",
                "ft/client-handles-split-segments",
                "twohosts/file-transfer",
            ],
            vec![],
        ),
    );
    let broken_server = vec![
        "ft/server-sends-segments",
        "ft/student-to-student",
        "ft/reference-client-to-student-server",
        "twohosts/file-transfer",
    ];
    e.insert("ft-compact-segments", (broken_server.clone(), vec![]));
    e.insert("ft-drop-last-partial", (broken_server.clone(), vec![]));
    let mut hang = broken_server.clone();
    hang.push("ft/missing-source-file");
    e.insert("ft-server-hang", (hang, vec![]));
    e.insert(
        "daytime-never-closes",
        (
            vec![
                "daytime/server-sends-time-and-closes",
                "daytime/client-prints-time[client=submission,server=submission]",
                "daytime/client-prints-time[client=reference,server=submission]",
            ],
            vec![],
        ),
    );
    e.insert(
        "lottery-text-commands",
        (
            vec![
                "lottery/client-protocol",
                "lottery/session[client=submission,server=submission]",
                "lottery/session[client=submission,server=reference]",
                "twohosts/lottery",
            ],
            vec![],
        ),
    );
    e.insert(
        "lottery-crash",
        (
            vec![
                "lottery/server-full-and-list",
                "lottery/session[client=submission,server=submission]",
                "lottery/session[client=reference,server=submission]",
            ],
            vec![],
        ),
    );
    e.insert(
        "ft-single-read",
        (
            vec!["ft/client-handles-split-segments"],
            // A 260-byte write usually, not always, arrives whole.
            vec![
                "ft/client-writes-exact-copy",
                "twohosts/file-transfer",
                "ft/student-to-student",
            ],
        ),
    );
    e.insert("lottery-no-usage", (vec!["lottery/usage-errors"], vec![]));
    e.insert(
        "lottery-usage-silent",
        (vec!["lottery/usage-errors"], vec![]),
    );
    e.insert(
        "echo-whole-buffer",
        (
            vec![
                "echo/long-stream",
                "echo/client-many-lines[server=submission]",
                "echo/two-clients-at-once",
            ],
            vec![],
        ),
    );
    e.insert(
        "echo-client-single-read",
        (vec!["echo/client-handles-split-replies"], vec![]),
    );
    e.insert(
        "echo-client-prefix",
        (
            vec![
                "echo/short-line[client=submission,server=submission]",
                "echo/short-line[client=submission,server=reference]",
                "echo/client-many-lines[server=submission]",
                "echo/client-many-lines[server=reference]",
                "echo/sum-variant",
                "echo/client-handles-split-replies",
            ],
            vec![],
        ),
    );
    e.insert(
        "lottery-server-keeps-running",
        (
            vec![
                "lottery/server-end-closes-and-exits",
                "lottery/session[client=submission,server=submission]",
                "lottery/session[client=reference,server=submission]",
            ],
            vec![],
        ),
    );
    e.insert(
        "lottery-client-ignores-connect",
        (vec!["lottery/client-connection-refused"], vec![]),
    );
    e.insert(
        "daytime-client-own-clock",
        (vec!["daytime/client-prints-what-it-received"], vec![]),
    );
    e.insert(
        "ft-iter-one-dst",
        (
            vec![
                "ft/iterative-several-files[client=submission,server=submission]",
                "ft/iterative-several-files[client=submission,server=reference]",
            ],
            vec![],
        ),
    );
    e.insert(
        "build-error",
        (
            vec![
                "ft/iterative-several-files[client=submission,server=submission]",
                "ft/iterative-several-files[client=submission,server=reference]",
            ],
            vec![],
        ),
    );
    e.insert(
        "missing-program",
        (
            vec![
                "ft/iterative-several-files[client=submission,server=submission]",
                "ft/iterative-several-files[client=reference,server=submission]",
            ],
            vec![],
        ),
    );
    e
}

#[test]
fn every_fixture_fails_exactly_what_its_defect_explains() {
    let class = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    copy_dir(&good(), &class.path().join("good"));
    for name in expectations().keys().filter(|n| **n != "good") {
        copy_dir(&fixture(name), &class.path().join(name));
    }
    // Most of a failing scenario's time is spent waiting for a deadline, so
    // more jobs than cores is fine.
    grade_class(&lab3(), class.path(), out.path(), &["-j", "6"], &[]);

    let namespaces = namespaces_available();
    let mut problems = Vec::new();
    for (name, (must, may)) in expectations() {
        let report = student_report(out.path(), name);
        let failed: BTreeSet<String> = scenarios_with(&report, "failed")
            .into_iter()
            .chain(scenarios_with(&report, "error"))
            .collect();
        let skipped: BTreeSet<String> = scenarios_with(&report, "skipped").into_iter().collect();
        let must: BTreeSet<String> = must
            .iter()
            .map(|s| s.to_string())
            // Without namespaces the two-host scenarios are skipped, not failed.
            .filter(|s| namespaces || !s.starts_with("twohosts/"))
            .collect();
        let may: BTreeSet<String> = may.iter().map(|s| s.to_string()).collect();
        let missing: Vec<_> = must.difference(&failed).collect();
        let unexpected: Vec<_> = failed
            .difference(&must)
            .filter(|s| !may.contains(*s))
            .collect();
        if !missing.is_empty() || !unexpected.is_empty() {
            problems.push(format!(
                "{name}: should fail but passed {missing:?}; failed unexpectedly {unexpected:?}"
            ));
        }
        if namespaces && !skipped.is_empty() {
            problems.push(format!("{name}: skipped {skipped:?}"));
        }
        if must.is_empty() && may.is_empty() {
            assert_eq!(
                report["score"], report["max_score"],
                "{name} must score full marks"
            );
        }
    }
    assert!(
        problems.is_empty(),
        "grading mistakes:\n{}",
        problems.join("\n")
    );

    // The crash is reported with the signal's name, the build failure with the
    // compiler's words, the missing program by name.
    let read = |name: &str| {
        std::fs::read_to_string(out.path().join("students").join(name).join("feedback.md")).unwrap()
    };
    assert!(
        read("lottery-crash").contains("SIGSEGV"),
        "crash named by its signal"
    );
    assert!(
        read("build-error").contains("error:"),
        "compiler output shown"
    );
    assert!(
        read("missing-program").contains("FTServerIter.c"),
        "missing source named"
    );
    let csv = std::fs::read_to_string(out.path().join("grades.csv")).unwrap();
    assert_eq!(
        csv.lines().count(),
        expectations().len() + 1,
        "a row per student:\n{csv}"
    );
}
