//! The checked-in JSON Schemas (for editors) match the format's types.
//! Regenerate with `SOCKLAB_BLESS=1 cargo test -p socklab-scenario --test schema_up_to_date`.

use std::path::Path;

fn check(file: &str, generated: String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs/schema")
        .join(file);
    if std::env::var_os("SOCKLAB_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == generated,
        "{} is out of date: run `SOCKLAB_BLESS=1 cargo test -p socklab-scenario --test schema_up_to_date`",
        path.display()
    );
}

#[test]
fn scenario_schema_is_current() {
    check(
        "scenario.schema.json",
        socklab_scenario::schema::scenario_schema(),
    );
}

#[test]
fn manifest_schema_is_current() {
    check(
        "lab.schema.json",
        socklab_scenario::schema::manifest_schema(),
    );
}

#[test]
fn schema_describes_every_action() {
    let schema = socklab_scenario::schema::scenario_schema();
    for action in socklab_scenario::actions::keywords() {
        assert!(
            schema.contains(&format!("\"{action}\"")),
            "schema lacks `{action}`"
        );
    }
}
