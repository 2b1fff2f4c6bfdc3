use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use socklab_report::model::ScenarioStatus;
use socklab_report::render_classroom;

use crate::fixtures::*;

fn decode(report: &socklab_report::SubmissionReport) -> Value {
    let encoded = render_classroom(report);
    assert!(
        !encoded.contains(['\n', ' ']),
        "one line for $GITHUB_OUTPUT"
    );
    let json = STANDARD.decode(encoded).expect("standard base64");
    serde_json::from_slice(&json).expect("valid JSON")
}

#[test]
fn decodes_to_the_runner_format() {
    for report in all() {
        let value = decode(&report);
        assert_eq!(
            keys(&value),
            sorted(&["version", "status", "max_score", "tests"])
        );
        assert_eq!(value["version"], 1);
        assert!(matches!(
            value["status"].as_str(),
            Some("pass" | "fail" | "error")
        ));
        assert!(value["max_score"].is_number());
        for test in value["tests"].as_array().unwrap() {
            assert_eq!(
                keys(test),
                sorted(&[
                    "name",
                    "status",
                    "message",
                    "test_code",
                    "filename",
                    "line_no",
                    "execution_time",
                    "score"
                ])
            );
            assert!(matches!(
                test["status"].as_str(),
                Some("pass" | "fail" | "error")
            ));
            assert!(test["line_no"].is_u64() && test["score"].is_number());
        }
    }
}

#[test]
fn statuses_and_scores() {
    let alice = decode(&passing());
    assert_eq!(alice["status"], "pass");
    assert_eq!(alice["max_score"], 30.0);
    let sum: f64 = alice["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["score"].as_f64().unwrap())
        .sum();
    assert_eq!(sum, 30.0);

    let bob = decode(&troubled());
    assert_eq!(bob["status"], "fail");
    let lottery = &bob["tests"][1];
    assert_eq!(lottery["status"], "fail");
    assert_eq!(lottery["filename"], "scenarios/lab3/lottery.yaml");
    assert_eq!(lottery["line_no"], 3);
    assert!(
        lottery["message"]
            .as_str()
            .unwrap()
            .contains("LotteryClient prints the reply")
    );
    assert_eq!(bob["tests"][4]["status"], "error");

    assert_eq!(decode(&harness_broken())["status"], "error");
    assert_eq!(decode(&empty())["status"], "fail");

    // A socklab error with nothing failed is an error, not a failure.
    let mut report = passing();
    report.scenarios[1].status = ScenarioStatus::Error;
    assert_eq!(decode(&report)["status"], "error");
}
