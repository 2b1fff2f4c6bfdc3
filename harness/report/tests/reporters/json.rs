use socklab_report::{read_json, render_json};

use crate::fixtures::*;

#[test]
fn round_trips_every_report() {
    for report in all() {
        let json = render_json(&report);
        assert!(json.ends_with("}\n"));
        assert_eq!(read_json(&json).expect("reads back"), report);
    }
}

#[test]
fn uses_the_model_field_names() {
    let value: serde_json::Value = serde_json::from_str(&render_json(&troubled())).unwrap();
    assert_eq!(value["scenarios"][1]["status"], "failed");
    assert_eq!(value["scenarios"][1]["checks"][2]["status"], "not_reached");
    assert_eq!(value["build"]["ok"], false);
    assert_eq!(value["score"], 5.5);
}

#[test]
fn rejects_what_is_not_a_report() {
    assert!(read_json("{\"submission\": \"x\"}").is_err());
    assert!(read_json("not json").is_err());
}
