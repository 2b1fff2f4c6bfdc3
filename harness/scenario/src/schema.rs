//! JSON Schemas for editors, generated from the raw format types.
//!
//! The checked-in copies under `docs/schema/` are compared with these in a
//! test, so the schema an editor uses never drifts from what socklab accepts.

use crate::manifest::RawManifest;
use crate::raw::RawScenarioFile;

/// The JSON Schema of scenario files, pretty-printed.
pub fn scenario_schema() -> String {
    let schema = schemars::schema_for!(RawScenarioFile);
    serde_json::to_string_pretty(&schema).expect("a schema serialises") + "\n"
}

/// The JSON Schema of lab manifests, pretty-printed.
pub fn manifest_schema() -> String {
    let schema = schemars::schema_for!(RawManifest);
    serde_json::to_string_pretty(&schema).expect("a schema serialises") + "\n"
}
