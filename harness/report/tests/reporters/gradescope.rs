use serde_json::Value;
use socklab_report::gradescope::gradescope_results;
use socklab_report::render_gradescope;

use crate::fixtures::*;

const TOP: &[&str] = &[
    "score",
    "max_score",
    "execution_time",
    "output",
    "output_format",
    "visibility",
    "stdout_visibility",
    "tests",
];
const TEST: &[&str] = &[
    "name",
    "score",
    "max_score",
    "status",
    "output",
    "output_format",
    "visibility",
    "tags",
];

#[test]
fn exactly_the_spec_keys_and_types() {
    for report in all() {
        let value: Value = serde_json::from_str(&render_gradescope(&report)).expect("valid JSON");
        assert_eq!(keys(&value), sorted(TOP));
        for number in ["score", "max_score", "execution_time"] {
            assert!(
                value[number].is_number(),
                "{number} of {}",
                report.submission
            );
        }
        for text in ["output", "output_format", "visibility", "stdout_visibility"] {
            assert!(value[text].is_string());
        }
        assert_eq!(value["output_format"], "md");
        assert_eq!(value["visibility"], "visible");
        for test in value["tests"].as_array().unwrap() {
            assert_eq!(keys(test), sorted(TEST));
            assert!(test["score"].is_number() && test["max_score"].is_number());
            assert!(matches!(test["status"].as_str(), Some("passed" | "failed")));
            assert!(test["name"].is_string() && test["output"].is_string());
            assert!(
                test["tags"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(Value::is_string)
            );
        }
    }
}

#[test]
fn tests_add_up_to_the_scaled_score() {
    for report in [passing(), troubled()] {
        let results = gradescope_results(&report);
        let sum: f64 = results.tests.iter().map(|t| t.score).sum();
        let max: f64 = results.tests.iter().map(|t| t.max_score).sum();
        assert!(
            (sum - results.score).abs() < 1e-9,
            "{sum} vs {}",
            results.score
        );
        assert!((max - results.max_score).abs() < 1e-9);
    }
    let alice = gradescope_results(&passing());
    assert_eq!(
        (alice.tests[0].score, alice.tests[0].max_score),
        (12.0, 12.0)
    );
    assert_eq!(alice.score, 30.0);
}

#[test]
fn observe_only_scores_nothing_and_says_what_was_seen() {
    let results = gradescope_results(&troubled());
    let zombies = results
        .tests
        .iter()
        .find(|t| t.name == "echo-zombies")
        .unwrap();
    assert_eq!((zombies.score, zombies.max_score), (0.0, 0.0));
    assert_eq!(zombies.status, "passed");
    assert!(zombies.output.contains("3 <defunct> children of tcpserv"));
    let lottery = results.tests.iter().find(|t| t.name == "lottery").unwrap();
    assert_eq!(lottery.status, "failed");
    assert!(lottery.output.contains("expected: You won"));
    let skipped = results
        .tests
        .iter()
        .find(|t| t.name == "ft-two-hosts")
        .unwrap();
    assert_eq!(skipped.status, "failed");
    assert!(skipped.output.contains("needs separate hosts"));
}

#[test]
fn build_failure_is_explained() {
    let results = gradescope_results(&troubled());
    assert!(results.output.contains("did not all build"));
    assert!(results.output.contains("FTClient.c:12:5: error"));
    let empty = gradescope_results(&empty());
    assert!(empty.tests.is_empty());
    assert!(empty.output.contains("No scenario ran."));
    assert_eq!(empty.score, 0.0);
}

#[test]
fn zero_points_never_give_nan() {
    let mut report = passing();
    for scenario in &mut report.scenarios {
        scenario.points = 0.0;
        scenario.earned = 0.0;
    }
    assert_eq!(socklab_report::scale_factor(&report), 0.0);
    let value: Value = serde_json::from_str(&render_gradescope(&report)).unwrap();
    assert!(value["tests"][0]["score"].is_number());
    assert_eq!(socklab_report::scale_factor(&passing()), 3.0);
}
