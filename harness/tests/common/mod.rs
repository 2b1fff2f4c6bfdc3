//! Helpers shared by socklab's end-to-end tests: the real binary, the repo's
//! folders, temporary submissions.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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

pub fn fixture(name: &str) -> PathBuf {
    repo().join("tests/fixtures/submissions").join(name)
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
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
