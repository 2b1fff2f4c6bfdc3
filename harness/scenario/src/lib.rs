//! The socklab scenario format: types, parsing, validation, diagnostics and
//! JSON Schema.
//!
//! This crate is the first stage of socklab's flow:
//!
//! ```text
//! scenario (this crate: parse, validate) → plan → run steps → observations
//!          → checks → verdicts → scores → reporters
//! ```
//!
//! It knows nothing about processes or sockets. [`load_scenario_file`] and
//! [`load_manifest`] read a file and return either the typed [`model`] or
//! every problem found, each with file, line, column, the source line and a
//! hint ([`Diagnostics`]).
//!
//! Inside, from the bottom up: locations ([`spanned`]) and [`diagnostic`]s;
//! value syntaxes ([`syntax`]) and [`template`]s; the YAML as written
//! ([`raw`]) and the checked [`model`]; the [`actions`], one file each, and
//! their table, and a scenario's steps laid out with their [`path`]s;
//! scenario [`validate`]ion (with [`fixture`] and [`matrix`]);
//! the lab [`manifest`]; and what is generated from the table: the JSON
//! [`schema`] and the [`docs`]' action list. No module uses one after it.

// Layers, from the bottom up, one group per layer: a module uses only
// modules of the groups before its own (`tests/layers.rs` checks it).
pub mod spanned;

pub mod diagnostic;

pub mod syntax;
pub mod template;

pub mod model;
pub mod raw;

pub mod path;

pub mod actions;
pub mod fixture;
pub mod manifest;
pub mod matrix;

pub mod validate;

pub mod docs;
pub mod schema;

use std::collections::BTreeMap;
use std::path::Path;

pub use diagnostic::{Diagnostic, Diagnostics};
pub use model::*;
pub use spanned::Loc;
pub use template::Template;

/// Inputs larger than this are refused before parsing (a scenario file is
/// text written by a person).
const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

fn read_source(path: &Path) -> Result<String, Diagnostics> {
    let fail = |message: String, help: Option<String>| {
        Diagnostics(vec![Diagnostic {
            file: path.to_path_buf(),
            loc: Loc::default(),
            message,
            help,
            source_line: None,
        }])
    };
    let meta = std::fs::metadata(path)
        .map_err(|e| fail(format!("cannot read {}: {e}", path.display()), None))?;
    if meta.is_dir() {
        return Err(fail(
            format!("{} is a directory", path.display()),
            Some("give a scenario .yaml file, or the lab's lab.yaml".into()),
        ));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(fail(
            format!(
                "{} is {} bytes; scenario files are at most {MAX_FILE_BYTES}",
                path.display(),
                meta.len()
            ),
            None,
        ));
    }
    let bytes = std::fs::read(path)
        .map_err(|e| fail(format!("cannot read {}: {e}", path.display()), None))?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(fail(
            format!("{} is empty", path.display()),
            Some("a scenario file starts with `scenarios:`, a lab manifest with `lab:`".into()),
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        fail(
            format!(
                "{} is not UTF-8 text (invalid byte at offset {})",
                path.display(),
                e.utf8_error().valid_up_to()
            ),
            Some("save the file as UTF-8".into()),
        )
    })
}

/// Loads and validates a scenario file. `lab` is what the lab manifest
/// says, when known, so course options (`{{options.NAME}}`, `when:`) and
/// program names (`program:`) are checked too.
pub fn load_scenario_file(
    path: &Path,
    lab: Option<&LabContext>,
) -> Result<ScenarioFile, Diagnostics> {
    let source = read_source(path)?;
    parse_scenario_file(path, &source, lab)
}

/// Parses and validates scenario text (`path` is used in messages).
pub fn parse_scenario_file(
    path: &Path,
    source: &str,
    lab: Option<&LabContext>,
) -> Result<ScenarioFile, Diagnostics> {
    let raw: raw::RawScenarioFile = serde_saphyr::from_str(source)
        .map_err(|e| Diagnostics(vec![diagnostic::from_yaml_error(path, source, &e)]))?;
    let mut reporter = diagnostic::Reporter::new(path, source);
    let scenarios = validate::validate_file(&raw, path, lab, &mut reporter);
    if reporter.has_errors() {
        return Err(reporter.finish());
    }
    Ok(ScenarioFile {
        path: path.to_path_buf(),
        scenarios,
    })
}

/// Loads and validates a lab manifest and every scenario file it lists.
pub fn load_manifest(path: &Path) -> Result<(LabManifest, Vec<ScenarioFile>), Diagnostics> {
    load_manifest_with(path, &BTreeMap::new())
}

/// Loads a lab manifest with some course options set to other values than
/// the file's (`--option NAME=VALUE`), and every scenario file it lists
/// under those values.
pub fn load_manifest_with(
    path: &Path,
    overrides: &BTreeMap<String, String>,
) -> Result<(LabManifest, Vec<ScenarioFile>), Diagnostics> {
    let manifest = read_manifest_with(path, overrides)?;
    let lab = manifest.context();
    let mut all = Diagnostics::default();
    let mut files = Vec::new();
    for file in &manifest.scenario_files {
        match load_scenario_file(file, Some(&lab)) {
            Ok(f) => files.push(f),
            Err(d) => all.0.extend(d.0),
        }
    }
    if !all.is_empty() {
        return Err(all);
    }
    Ok((manifest, files))
}

/// Loads and validates a lab manifest alone, without the scenario files it
/// lists (for scenario files of the lab run or validated on their own).
pub fn read_manifest(path: &Path) -> Result<LabManifest, Diagnostics> {
    read_manifest_with(path, &BTreeMap::new())
}

/// Loads and validates a lab manifest alone, with some course options set
/// to other values than the file's (`--option NAME=VALUE`).
pub fn read_manifest_with(
    path: &Path,
    overrides: &BTreeMap<String, String>,
) -> Result<LabManifest, Diagnostics> {
    let source = read_source(path)?;
    let raw: manifest::RawManifest = serde_saphyr::from_str(&source)
        .map_err(|e| Diagnostics(vec![diagnostic::from_yaml_error(path, &source, &e)]))?;
    let mut reporter = diagnostic::Reporter::new(path, &source);
    let manifest = manifest::validate_manifest(&raw, path, overrides, &mut reporter);
    if reporter.has_errors() {
        return Err(reporter.finish());
    }
    Ok(manifest)
}

/// The lab manifest `path` names: the file itself when it is a manifest,
/// or the `lab.yaml` in it when it is a lab's folder (`scenarios/lab3`).
/// `None` when it is neither.
pub fn manifest_at(path: &Path) -> Option<std::path::PathBuf> {
    if path.is_dir() {
        let inside = path.join("lab.yaml");
        return is_manifest(&inside).then_some(inside);
    }
    is_manifest(path).then(|| path.to_path_buf())
}

/// Whether a YAML file is a lab manifest (has a top-level `lab:` key) rather
/// than a scenario file.
pub fn is_manifest(path: &Path) -> bool {
    std::fs::read_to_string(path)
        .map(|s| s.lines().any(|l| l.starts_with("lab:")))
        .unwrap_or(false)
}
