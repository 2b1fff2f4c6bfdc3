//! The Lab 3 suite grades right: the good submission gets full marks, and
//! each known-broken submission fails exactly the scenarios its defect
//! explains, as its `fixture.yaml` states them (must_fail, may_fail, and
//! must_observe for defects the lab does not score; see
//! tests/fixtures/submissions/README.md).
//!
//! Every fixture that is not hostile (hostile.rs grades those) is laid out
//! over its base and graded in one `socklab grade` batch per set of course
//! options, the way a TA would.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use common::fixtures::FixtureSpec;
use common::*;

/// Scenarios that must fail and scenarios that may fail (timing), by student.
type Expectations = BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)>;

#[test]
fn every_fixture_fails_exactly_what_its_defect_explains() {
    let specs: Vec<FixtureSpec> = fixture_specs()
        .into_iter()
        .filter(|s| !s.is_hostile())
        .collect();
    let mut expectations: Expectations = BTreeMap::new();
    // Observe-only scenarios whose report must show the defect, by student.
    let mut expectations_observe: BTreeMap<String, Vec<String>> = BTreeMap::new();
    expectations.insert("good".to_string(), Default::default());
    for spec in &specs {
        expectations.insert(
            spec.name.clone(),
            (spec.must_fail_names(), spec.may_fail_names()),
        );
        expectations_observe.insert(
            spec.name.clone(),
            spec.must_observe.iter().map(|s| s.value.clone()).collect(),
        );
    }
    // A batch per set of course options; good is graded with the defaults.
    let mut batches: BTreeMap<&BTreeMap<String, String>, Vec<&FixtureSpec>> = BTreeMap::new();
    let defaults = BTreeMap::new();
    batches.entry(&defaults).or_default();
    for spec in &specs {
        batches.entry(&spec.options).or_default().push(spec);
    }
    let root = tempfile::tempdir().unwrap();
    let mut out_of: BTreeMap<String, PathBuf> = BTreeMap::new();
    for (i, (options, fixtures)) in batches.iter().enumerate() {
        let batch = root.path().join(format!("batch-{i}"));
        let class = batch.join("class");
        let out = batch.join("out");
        std::fs::create_dir_all(&class).unwrap();
        let mut students: Vec<String> = fixtures.iter().map(|s| s.name.clone()).collect();
        if options.is_empty() {
            copy_dir(&good(), &class.join("good"));
            students.push("good".to_string());
        }
        for spec in fixtures {
            lay_out(spec, &class);
        }
        let lab = lab3_with_options(&batch, options);
        // Most of a failing scenario's time is spent waiting for a deadline, so
        // more jobs than cores is fine.
        grade_class(&lab, &class, &out, &["-j", "6"], &[]);
        let csv = std::fs::read_to_string(out.join("grades.csv")).unwrap();
        // The header, the `(max points)` row, then a row per student.
        assert_eq!(
            csv.lines().count(),
            students.len() + 2,
            "a row per student:\n{csv}"
        );
        for student in students {
            out_of.insert(student, out.clone());
        }
    }

    let namespaces = namespaces_available();
    let mut problems = Vec::new();
    for (name, (must, may)) in &expectations {
        let name = name.as_str();
        let report = student_report(&out_of[name], name);
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
        // Without namespaces nothing is captured and packet checks are
        // skipped: a scenario whose failure only packets show may pass.
        let packets_skipped = |scenario: &str| {
            !namespaces
                && report["scenarios"].as_array().unwrap().iter().any(|s| {
                    s["name"] == scenario
                        && s["checks"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .any(|c| c["status"] == "skipped")
                })
        };
        let missing: Vec<_> = must
            .difference(&failed)
            .filter(|s| !packets_skipped(s))
            .collect();
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
        // An observe-only scenario named by the spec ran, was not scored, and
        // saw the defect: one of its checks did not hold.
        for observed in expectations_observe.get(name).into_iter().flatten() {
            let scenario = report["scenarios"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|s| s["name"] == observed.as_str());
            let Some(scenario) = scenario else {
                problems.push(format!("{name}: the report has no scenario {observed}"));
                continue;
            };
            let saw_defect = scenario["checks"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| c["held"] == false);
            if scenario["observe"] != true || scenario["status"] != "observed" || !saw_defect {
                problems.push(format!(
                    "{name}: {observed} should be observed (not scored) with a check that did \
                     not hold; it is {} with no check failing: {}",
                    scenario["status"], scenario["checks"]
                ));
            }
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
        std::fs::read_to_string(out_of[name].join("students").join(name).join("feedback.md"))
            .unwrap()
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
    if namespaces {
        packets_feedback(&out_of);
    }
}

/// The fixtures that close wrongly fail their packet checks with the
/// feedback that explains it, the failed packets are red in the ladder, and
/// every scenario's capture is kept beside the feedback.
fn packets_feedback(out_of: &BTreeMap<String, PathBuf>) {
    let feedback = |name: &str, file: &str| {
        std::fs::read_to_string(out_of[name].join("students").join(name).join(file)).unwrap()
    };
    let check = |name: &str, scenario: &str, title: &str| -> serde_json::Value {
        let report = student_report(&out_of[name], name);
        let scenario = report["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == scenario)
            .unwrap_or_else(|| panic!("{name}: no scenario {scenario}"))
            .clone();
        scenario["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["title"] == title)
            .unwrap_or_else(|| panic!("{name}: no check {title:?} in {scenario:#}"))
            .clone()
    };
    let session = "lottery/session[client=reference,server=submission]";

    // The server that closes after LIST: its FIN first, the END reset.
    let reset = check(
        "lottery-server-closes-after-list",
        session,
        "the session ends with FINs, without RST",
    );
    assert_eq!(reset["status"], "failed", "{reset:#}");
    let message = reset["message"].as_str().unwrap();
    assert!(
        message.starts_with("an RST from the server at frame")
            && message.contains("the client wrote after the server had closed"),
        "{message}"
    );
    assert!(
        reset["hint"]
            .as_str()
            .unwrap()
            .contains("Either the server closed too early"),
        "{reset:#}"
    );
    let order = check(
        "lottery-server-closes-after-list",
        session,
        "after END the client's FIN, then the server's (as in the supplement's capture)",
    );
    assert_eq!(order["status"], "observed");
    assert!(
        order["message"]
            .as_str()
            .unwrap()
            .starts_with("the server sent the first FIN, at frame"),
        "{order:#}"
    );
    let md = feedback("lottery-server-closes-after-list", "feedback.md");
    assert!(
        md.contains("✗ marks a packet a failed check points at"),
        "ladder marked"
    );
    let html = feedback("lottery-server-closes-after-list", "feedback.html");
    assert!(
        html.contains("stroke=\"#d00000\""),
        "a red arrow in the SVG"
    );

    // The server that answers END with a goodbye: an RST on close.
    let bye = check(
        "lottery-server-says-bye",
        session,
        "the session ends with FINs, without RST",
    );
    assert_eq!(bye["status"], "failed", "{bye:#}");
    let message = bye["message"].as_str().unwrap();
    let hint = bye["hint"].as_str().unwrap();
    assert!(
        message.starts_with("an RST from the client at frame"),
        "{message}"
    );
    // The goodbye arrives before the client's close (unread) or after it.
    assert!(
        (message.contains("the client closed with unread data")
            && hint.contains(
                "The client closed its socket while data from the server was still unread"
            ))
            || (message.contains("the server wrote after the client had closed")
                && hint.contains("The server wrote after the client had closed")),
        "{bye:#}"
    );

    // Commands sent as text: the scenario stops at the first command, and
    // the packet check, judged on what was captured, says why.
    let text = check(
        "lottery-text-commands",
        "lottery/client-protocol",
        "each command from the client travels as one 4-byte segment",
    );
    assert_eq!(text["status"], "failed", "{text:#}");
    assert_eq!(text["weight"], 0.0, "judged after the stop: not scored");
    let message = text["message"].as_str().unwrap();
    assert!(
        message.starts_with("judged on the packets captured until the scenario stopped")
            && message.contains("2 bytes \"0\\n\""),
        "{message}"
    );
    assert!(
        text["hint"].as_str().unwrap().contains("sent as text"),
        "{text:#}"
    );

    // Every scenario that ran kept its capture, named in the report.
    let good = student_report(&out_of["good"], "good");
    let folder = out_of["good"].join("students/good");
    let mut kept = 0;
    for scenario in good["scenarios"].as_array().unwrap() {
        if scenario["status"] == "skipped" {
            continue;
        }
        let file = scenario["packets"]["file"]
            .as_str()
            .unwrap_or_else(|| panic!("no capture file for {}", scenario["name"]));
        let bytes = std::fs::read(folder.join(file)).unwrap();
        assert_eq!(&bytes[..4], &[0x0a, 0x0d, 0x0d, 0x0a], "{file} is pcapng");
        kept += 1;
    }
    assert!(kept > 30, "{kept} captures");
}
