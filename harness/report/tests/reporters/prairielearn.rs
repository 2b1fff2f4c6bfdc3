use serde_json::Value;
use socklab_report::prairielearn::prairielearn_results;
use socklab_report::render_prairielearn;

use crate::fixtures::*;

#[test]
fn exactly_the_spec_keys_and_types() {
    for report in all() {
        let value: Value = serde_json::from_str(&render_prairielearn(&report)).expect("valid JSON");
        assert_eq!(
            keys(&value),
            sorted(&["gradable", "score", "message", "output", "tests"])
        );
        assert!(value["gradable"].is_boolean());
        let score = value["score"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&score));
        assert!(value["message"].is_string() && value["output"].is_string());
        for test in value["tests"].as_array().unwrap() {
            assert_eq!(
                keys(test),
                sorted(&["name", "points", "max_points", "message", "output"])
            );
            assert!(test["points"].is_number() && test["max_points"].is_number());
        }
    }
}

#[test]
fn score_is_a_fraction_and_gradable_only_fails_on_harness_errors() {
    let bob = prairielearn_results(&troubled());
    assert!((bob.score - 5.5 / 30.0).abs() < 1e-4);
    assert!(bob.gradable);
    assert!(bob.message.contains("did not all build"));
    assert!(bob.output.contains("expected: You won"));
    let lottery = bob.tests.iter().find(|t| t.name == "lottery").unwrap();
    assert_eq!((lottery.points, lottery.max_points), (1.5, 6.0));
    assert!(
        lottery
            .message
            .starts_with("failed: LotteryClient prints the reply")
    );
    assert!(lottery.output.contains("hint:"));
    assert_eq!(prairielearn_results(&passing()).score, 1.0);
    assert!(prairielearn_results(&empty()).gradable);
    let broken = prairielearn_results(&harness_broken());
    assert!(!broken.gradable);
    assert!(broken.message.contains("not graded"));
}
