//! Helpers shared by socklab's end-to-end tests: the real binary, the repo's
//! folders, temporary submissions, fixture submissions laid out whole.

#![allow(dead_code)]

pub mod fixtures;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use fixtures::{FixtureSet, FixtureSpec};

/// The socklab binary under test.
pub fn socklab() -> Command {
    Command::new(env!("CARGO_BIN_EXE_socklab"))
}

pub fn socklab_path() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_socklab"))
}

/// The repository's root folder.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

pub fn lab3() -> PathBuf {
    repo().join("scenarios/lab3/lab.yaml")
}

/// Every fixture's checked spec (tests/fixtures/submissions/*/fixture.yaml);
/// fails the test with every mistake, each at its file:line:column.
pub fn fixture_specs() -> Vec<FixtureSpec> {
    FixtureSet::of_repo()
        .load_all()
        .unwrap_or_else(|problems| panic!("fixture specs have mistakes:\n{problems}"))
}

/// Lays fixture `name` out over its base as a whole submission in
/// `parent/name` (the student's name when graded) and returns that folder.
pub fn lay_out_fixture(name: &str, parent: &Path) -> PathBuf {
    let spec = FixtureSet::of_repo()
        .load(name)
        .unwrap_or_else(|problems| panic!("{problems}"));
    lay_out(&spec, parent)
}

/// Lays a loaded fixture out in `parent/NAME` and returns that folder.
pub fn lay_out(spec: &FixtureSpec, parent: &Path) -> PathBuf {
    let dest = parent.join(&spec.name);
    spec.lay_out(&dest)
        .unwrap_or_else(|e| panic!("cannot lay out fixture {}: {e}", spec.name));
    dest
}

/// The names of the scenarios `socklab list LAB` lists (matrix cells
/// expanded, as reports name them).
pub fn scenario_names(lab: &Path) -> BTreeSet<String> {
    let out = socklab()
        .arg("list")
        .arg(lab)
        .output()
        .expect("socklab runs");
    assert!(
        out.status.success(),
        "socklab list {} failed:\n{}",
        lab.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    // Lines are `    4 pts  NAME[  [2 hosts]]` or `  observe  NAME`.
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                ["observe", name, ..] | [_, "pts", name, ..] => Some(name.to_string()),
                _ => None,
            }
        })
        .collect()
}

/// The Lab 3 manifest with `options` instead of its defaults: lab3() itself
/// when there are none, else a copy written into `dir`.
pub fn lab3_with_options(dir: &Path, options: &BTreeMap<String, String>) -> PathBuf {
    if options.is_empty() {
        return lab3();
    }
    let pairs: Vec<(&str, &str)> = options
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    lab_with(dir, &pairs)
}

/// A copy of the Lab 3 manifest in `dir` with `options` replacing the
/// defaults (its scenario paths made absolute, since they are relative to
/// the manifest).
pub fn lab_with(dir: &Path, options: &[(&str, &str)]) -> PathBuf {
    let original = std::fs::read_to_string(lab3()).unwrap();
    let suite_dir = lab3().parent().unwrap().to_path_buf();
    let mut text = String::new();
    let mut in_scenarios = false;
    for line in original.lines() {
        let mut line = line.to_string();
        if line.starts_with("scenarios:") {
            in_scenarios = true;
        } else if in_scenarios && let Some(file) = line.trim().strip_prefix("- ") {
            line = format!("  - {}", suite_dir.join(file).display());
        }
        for (name, value) in options {
            if line.trim_start().starts_with(&format!("{name}:")) {
                line = format!("  {name}: {value}");
            }
        }
        text.push_str(&line);
        text.push('\n');
    }
    for (name, value) in options {
        assert!(
            text.contains(&format!("  {name}: {value}\n")),
            "lab.yaml has no option `{name}`"
        );
    }
    let path = dir.join("lab.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

pub fn good() -> PathBuf {
    repo().join("examples/submissions/good")
}

/// Whether this machine gives socklab network and pid namespaces (root on
/// Linux with unshare permitted). Tests of namespace-only behaviour say so
/// and return when it does not.
pub fn namespaces_available() -> bool {
    let out = socklab()
        .args([
            "run",
            "--isolation",
            "namespaces",
            "--format",
            "json",
            "--submission",
        ])
        .arg(std::env::temp_dir())
        .arg(repo().join("tests/scenarios/noop.yaml"))
        .output()
        .expect("socklab runs");
    out.status.code() != Some(2)
}

/// Runs `socklab run ... --format json` and parses the report.
pub fn run_json(args: &[&str], submission: &Path) -> (Output, serde_json::Value) {
    let out = socklab()
        .arg("run")
        .args(args)
        .args(["--format", "json", "--submission"])
        .arg(submission)
        .output()
        .expect("socklab runs");
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON report ({e}); stderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out, report)
}

/// Runs `socklab grade LAB --submissions CLASS --out OUT ARGS…` (with
/// `env` added) and fails the test, with socklab's stderr, unless it
/// succeeds.
pub fn grade_class(lab: &Path, class: &Path, out: &Path, args: &[&str], env: &[(&str, &Path)]) {
    let graded = socklab()
        .envs(env.iter().copied())
        .arg("grade")
        .arg(lab)
        .arg("--submissions")
        .arg(class)
        .arg("--out")
        .arg(out)
        .args(args)
        .output()
        .expect("socklab runs");
    assert!(
        graded.status.success(),
        "socklab grade failed:\n{}",
        String::from_utf8_lossy(&graded.stderr)
    );
}

/// A graded student's `OUT/students/NAME/report.json`.
pub fn student_report(out: &Path, name: &str) -> serde_json::Value {
    let path = out.join("students").join(name).join("report.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// Names of scenarios with the given status.
pub fn scenarios_with(report: &serde_json::Value, status: &str) -> Vec<String> {
    report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["status"] == status)
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect()
}

/// A submission made of wrapper scripts that run socklab's reference
/// programs, built by a Makefile (so the lab manifest's `make` path is used).
/// `overrides` replace the reference command of a program.
pub fn reference_submission(dir: &Path, overrides: &[(&str, &str)]) {
    let programs = [
        ("daytimetcpsrv", "daytime-server"),
        ("daytimetcpcli", "daytime-client"),
        ("tcpserv", "echo-server --concurrency fork"),
        ("tcpcli", "echo-client"),
        ("LotteryServer", "lottery-server"),
        ("LotteryClient", "lottery-client"),
        ("FTServer", "ft-server"),
        ("FTClient", "ft-client"),
        ("FTServerIter", "ft-server --iterative new-connection"),
        ("FTClientIter", "ft-client --iterative new-connection"),
    ];
    std::fs::create_dir_all(dir).unwrap();
    let mut makefile = String::from("all:\n");
    for (name, default) in programs {
        let command = overrides
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, c)| *c)
            .unwrap_or(default);
        makefile.push_str(&format!(
            "\tprintf '#!/bin/sh\\nexec {} reference {command} \"$$@\"\\n' > {name}\n\tchmod +x {name}\n",
            socklab_path().display()
        ));
    }
    std::fs::write(dir.join("Makefile"), makefile).unwrap();
}

/// Processes whose command line mentions `marker`.
pub fn processes_mentioning(marker: &str) -> Vec<(u32, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if pid == std::process::id() {
            continue;
        }
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if text.contains(marker) {
            found.push((pid, text));
        }
    }
    found
}

/// Waits (up to 5 s: a killed process takes a moment to go) until no
/// process mentions `marker`; fails with `what` and the ones left.
pub fn assert_none_left(marker: &str, what: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let left = processes_mentioning(marker);
        if left.is_empty() {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "{what}: {left:?}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Copies a directory tree (regular files and directories).
pub fn copy_dir(from: &Path, to: &Path) {
    fixtures::copy_dir(from, to)
        .unwrap_or_else(|e| panic!("cannot copy {} to {}: {e}", from.display(), to.display()));
}
