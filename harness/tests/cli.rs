//! The command line as a user meets it: exit codes, the human report with
//! and without `-v`, `list`, and argument errors. Uses the one-program
//! mini lab (tests/scenarios/minilab) so each run takes a moment.

mod common;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;

use common::repo;

fn minilab() -> PathBuf {
    repo().join("tests/scenarios/minilab/lab.yaml")
}

/// A submission whose `hello.c` prints `text`.
fn hello(dir: &Path, text: &str) -> PathBuf {
    let submission = dir.join("student");
    std::fs::create_dir_all(&submission).unwrap();
    std::fs::write(
        submission.join("hello.c"),
        format!("#include <stdio.h>\nint main(void) {{ printf(\"{text}\\n\"); return 0; }}\n"),
    )
    .unwrap();
    submission
}

fn socklab() -> Command {
    Command::new(env!("CARGO_BIN_EXE_socklab"))
}

/// `socklab run` of the mini lab on `submission`, with `extra` arguments.
fn run_minilab(submission: &Path, extra: &[&str]) -> assert_cmd::assert::Assert {
    socklab()
        .arg("run")
        .arg(minilab())
        .arg("--submission")
        .arg(submission)
        .args(extra)
        .assert()
}

#[test]
fn a_passing_submission_exits_zero_with_a_plain_report() {
    let dir = tempfile::tempdir().unwrap();
    let submission = hello(dir.path(), "hello, world");
    run_minilab(&submission, &[])
        .code(0)
        .stdout(predicate::str::contains("PASS   hello/prints"))
        .stdout(predicate::str::contains("score: 10 / 10"))
        .stdout(predicate::str::contains("transcript:").not());
    run_minilab(&submission, &["-v"])
        .code(0)
        .stdout(predicate::str::contains(
            "transcript: hello (submission) `p` stdout",
        ))
        .stdout(predicate::str::contains("| hello, world\\n"));
}

#[test]
fn a_failing_submission_exits_one_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let submission = hello(dir.path(), "hello world");
    run_minilab(&submission, &[])
        .code(1)
        .stdout(predicate::str::contains("FAIL   hello/prints"))
        .stdout(predicate::str::contains(
            "expected: output containing hello, world",
        ))
        .stdout(predicate::str::contains(
            "hint:     printf(\"hello, world\\n\");",
        ))
        .stdout(predicate::str::contains("got:      hello world\\n"))
        .stdout(predicate::str::contains("PASS   hello/exits-zero"));
}

#[test]
fn list_shows_every_scenario_with_its_points() {
    socklab()
        .arg("list")
        .arg(minilab())
        .assert()
        .code(0)
        .stdout(predicate::str::contains("hello/prints"))
        .stdout(predicate::str::contains("hello/exits-zero"));
}

#[test]
fn argument_errors_exit_two() {
    let dir = tempfile::tempdir().unwrap();
    run_minilab(dir.path(), &["-j", "0"])
        .code(2)
        .stderr(predicate::str::contains("-j"));
    run_minilab(&dir.path().join("no-such-folder"), &[])
        .code(2)
        .stderr(predicate::str::contains("not a directory"));
    run_minilab(dir.path(), &["--only", "no-such-scenario"])
        .code(2)
        .stderr(predicate::str::contains(
            "no scenario matches `no-such-scenario`",
        ));
}
