//! The crate's modules form layers with no import circle: in `lib.rs` (and
//! in `actions/mod.rs` for the modules inside `actions/`) the `pub mod`
//! lines come in groups separated by blank lines, bottom layer first, and a
//! module's code may use only modules of earlier groups.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Each module declared in `file`, with the number of its layer.
fn layers(file: &Path) -> BTreeMap<String, usize> {
    let text = std::fs::read_to_string(file).unwrap();
    let mut layer = 0;
    let mut in_group = false;
    let mut out = BTreeMap::new();
    for line in text.lines() {
        if let Some(name) = line
            .strip_prefix("pub mod ")
            .and_then(|l| l.strip_suffix(';'))
        {
            out.insert(name.trim_start_matches("r#").to_string(), layer);
            in_group = true;
        } else if line.trim().is_empty() && in_group {
            layer += 1;
            in_group = false;
        }
    }
    out
}

/// The code of a source file: no comments, no tests.
fn code(file: &Path) -> String {
    let text = std::fs::read_to_string(file).unwrap();
    let text = text.split("#[cfg(test)]").next().unwrap_or_default();
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The modules among `known` that `code` names after `prefix` (`crate::`,
/// `super::`), as a path or in a `use prefix{a, b}` group.
fn uses(code: &str, prefix: &str, known: &BTreeMap<String, usize>) -> Vec<String> {
    let mut found = Vec::new();
    for (i, _) in code.match_indices(prefix) {
        let rest = &code[i + prefix.len()..];
        let names: Vec<&str> = match rest.strip_prefix('{') {
            Some(group) => group
                .split('}')
                .next()
                .unwrap_or_default()
                .split(',')
                .map(|n| n.trim().split("::").next().unwrap_or_default())
                .collect(),
            None => vec![
                rest.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .next()
                    .unwrap_or_default(),
            ],
        };
        found.extend(
            names
                .into_iter()
                .map(|n| n.trim_start_matches("r#"))
                .filter(|n| known.contains_key(*n))
                .map(str::to_string),
        );
    }
    found
}

fn check(declared_in: &Path, dir: &Path, prefix: &str) {
    let known = layers(declared_in);
    assert!(
        known.len() > 3,
        "no modules found in {}",
        declared_in.display()
    );
    let mut problems = Vec::new();
    for (module, layer) in &known {
        let file = dir.join(format!("{module}.rs"));
        let file = if file.exists() {
            file
        } else {
            dir.join(module).join("mod.rs")
        };
        for used in uses(&code(&file), prefix, &known) {
            if used != *module && known[&used] >= *layer {
                problems.push(format!(
                    "{module} (layer {layer}) uses {used} (layer {})",
                    known[&used]
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "modules use their own layer or one above it:\n{}",
        problems.join("\n")
    );
}

#[test]
fn crate_modules_use_only_lower_layers() {
    check(&src().join("lib.rs"), &src(), "crate::");
}

#[test]
fn action_modules_use_only_lower_layers() {
    let actions = src().join("actions");
    check(&actions.join("mod.rs"), &actions, "super::");
}

#[test]
fn a_use_of_a_higher_layer_is_found() {
    let known: BTreeMap<String, usize> = [("raw".to_string(), 0), ("model".to_string(), 1)].into();
    assert_eq!(
        uses("use crate::{model::Step, raw};", "crate::", &known),
        ["model", "raw"]
    );
    assert_eq!(uses("crate::model::Action", "crate::", &known), ["model"]);
}
