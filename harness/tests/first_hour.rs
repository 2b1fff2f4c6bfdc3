//! A course author's, a student's and a TA's first hour with the real
//! binary: the messages they meet and the exit codes scripts see. Uses the
//! one-program mini lab (tests/scenarios/minilab), copied where a test
//! needs a lab folder of its own.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{repo, socklab};

const HELLO: &str =
    "#include <stdio.h>\nint main(void) { printf(\"hello, world\\n\"); return 0; }\n";
const HELO: &str = "#include <stdio.h>\nint main(void) { printf(\"helo\\n\"); return 0; }\n";

fn minilab_dir() -> PathBuf {
    repo().join("tests/scenarios/minilab")
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A copy of the mini lab in `dir/lab`, with `extra` scenario files.
fn lab_copy(dir: &Path, extra: &[(&str, &str)]) -> PathBuf {
    let lab = dir.join("lab");
    for file in ["lab.yaml", "hello.yaml"] {
        write(
            &lab.join(file),
            &std::fs::read_to_string(minilab_dir().join(file)).unwrap(),
        );
    }
    for (name, text) in extra {
        write(&lab.join(name), text);
    }
    lab
}

/// A submission folder with `hello.c` printing as `source` says.
fn student(dir: &Path, name: &str, source: &str) -> PathBuf {
    let folder = dir.join(name);
    write(&folder.join("hello.c"), source);
    folder
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn said(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    )
}

const MINE: &str = "scenarios:
  - name: mine/prints
    points: 2
    steps:
      - start: p
        program: PROGRAM
        stdin: null
      - expect: p
        text: hello
";

// ---------------------------------------------------------------- author

#[test]
fn a_misspelt_program_is_an_error_with_did_you_mean_when_the_lab_is_known() {
    let dir = tempfile::tempdir().unwrap();
    let mine = MINE.replace("PROGRAM", "helo");
    // Beside lab.yaml.
    let lab = lab_copy(dir.path(), &[("mine.yaml", &mine)]);
    let out = socklab()
        .arg("validate")
        .arg(lab.join("mine.yaml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", said(&out));
    let err = text(&out.stderr);
    assert!(err.contains("mine.yaml:6:18"), "{err}");
    assert!(
        err.contains("`program: helo` is not a program of the lab"),
        "{err}"
    );
    assert!(err.contains("did you mean `hello`?"), "{err}");
    // Elsewhere, with --lab (the file or its folder).
    let elsewhere = dir.path().join("mine.yaml");
    write(&elsewhere, &mine);
    for lab_arg in [lab.join("lab.yaml"), lab.clone()] {
        let out = socklab()
            .arg("validate")
            .arg(&elsewhere)
            .arg("--lab")
            .arg(&lab_arg)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", said(&out));
        assert!(text(&out.stderr).contains("did you mean `hello`?"));
    }
    // Without a lab the name cannot be checked.
    let out = socklab().arg("validate").arg(&elsewhere).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    // The lab's own files, through the lab: program names are checked too.
    let out = socklab().arg("validate").arg(&lab).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
}

#[test]
fn a_yaml_indentation_mistake_gets_a_hint_in_plain_words() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.yaml");
    write(
        &file,
        "scenarios:\n  - name: a\n    steps:\n      - start: p\n        program: hello\n        - exit: p\n",
    );
    let out = socklab().arg("validate").arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", said(&out));
    let err = text(&out.stderr);
    assert!(err.contains("bad.yaml:6:11"), "{err}");
    assert!(
        err.contains("did not find expected key"),
        "the parser's words stay: {err}"
    );
    assert!(
        err.contains("= help: this list item is indented deeper than `- start: p` on line 4"),
        "{err}"
    );
}

#[test]
fn a_scenario_file_of_a_lab_runs_with_its_programs_and_build() {
    let dir = tempfile::tempdir().unwrap();
    let mine = MINE.replace("PROGRAM", "hello");
    let lab = lab_copy(dir.path(), &[("mine.yaml", &mine)]);
    // Sources only: socklab must build them.
    let submission = student(dir.path(), "alice", HELLO);
    let out = socklab()
        .arg("run")
        .arg(lab.join("mine.yaml"))
        .arg("--submission")
        .arg(&submission)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    let report = text(&out.stdout);
    assert!(report.contains("build: ok"), "{report}");
    assert!(report.contains("PASS   mine/prints"), "{report}");
    // Only the file given runs, not the lab's own scenarios.
    assert!(!report.contains("hello/prints"), "{report}");

    // A file kept elsewhere, with --lab.
    let elsewhere = dir.path().join("mine.yaml");
    write(&elsewhere, &mine);
    let out = socklab()
        .arg("run")
        .arg(&elsewhere)
        .arg("--lab")
        .arg(&lab)
        .arg("--submission")
        .arg(&submission)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    assert!(text(&out.stdout).contains("PASS   mine/prints"));

    // Without a lab nothing is built, and the report says what to do.
    let out = socklab()
        .arg("run")
        .arg(&elsewhere)
        .arg("--submission")
        .arg(&submission)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", said(&out));
    assert!(
        text(&out.stdout).contains("only its source hello.c: socklab builds sources only when it knows the lab (give `--lab path/to/lab.yaml`"),
        "{}",
        said(&out)
    );
}

#[test]
fn validate_says_which_variant_is_left_out_and_why() {
    let out = socklab()
        .arg("validate")
        .arg(repo().join("scenarios/lab3/lab.yaml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    let report = text(&out.stdout);
    let line = report
        .lines()
        .find(|l| l.trim_start().starts_with("echo/two-clients-at-once "))
        .unwrap_or_else(|| panic!("{report}"));
    assert!(
        line.ends_with(
            "for echo_mode: sum, the course has echo_mode: echo; the variant for echo_mode: echo is in the suite"
        ),
        "{line}"
    );
    // Matrix cells share a line.
    assert!(
        report.contains("echo/short-line (3 matrix cells)"),
        "{report}"
    );
}

#[test]
fn a_lab_folder_is_accepted_wherever_a_lab_manifest_is() {
    let dir = tempfile::tempdir().unwrap();
    let lab = minilab_dir();
    let class = dir.path().join("class");
    student(&class, "alice", HELLO);
    let out = socklab()
        .arg("grade")
        .arg(&lab)
        .arg("--submissions")
        .arg(&class)
        .arg("--out")
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    assert!(dir.path().join("out/grades.csv").is_file());
    for command in ["validate", "list"] {
        let out = socklab().arg(command).arg(&lab).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{command}: {}", said(&out));
    }
    let out = socklab()
        .arg("check")
        .arg("--lab")
        .arg(&lab)
        .current_dir(class.join("alice"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    // A folder without a lab.yaml is refused, saying what to give.
    let out = socklab()
        .arg("grade")
        .arg(&class)
        .arg("--submissions")
        .arg(&class)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", said(&out));
    assert!(
        text(&out.stderr).contains("is a folder without a lab.yaml"),
        "{}",
        said(&out)
    );
}

// --------------------------------------------------------------- student

#[test]
fn only_with_a_typo_exits_two_with_did_you_mean_in_check_and_run() {
    let dir = tempfile::tempdir().unwrap();
    let alice = student(dir.path(), "alice", HELLO);
    let check = socklab()
        .args(["check", "--only", "helo/prints", "--lab"])
        .arg(minilab_dir())
        .current_dir(&alice)
        .output()
        .unwrap();
    let run = socklab()
        .arg("run")
        .arg(minilab_dir())
        .args(["--only", "helo/prints", "--submission"])
        .arg(&alice)
        .output()
        .unwrap();
    for out in [check, run] {
        assert_eq!(out.status.code(), Some(2), "{}", said(&out));
        assert!(
            text(&out.stderr)
                .contains("no scenario matches `helo/prints`; did you mean `hello/prints`?"),
            "{}",
            said(&out)
        );
        assert!(out.stdout.is_empty(), "nothing ran: {}", said(&out));
    }
}

#[test]
fn only_shows_the_selected_scenarios_own_points() {
    let dir = tempfile::tempdir().unwrap();
    let alice = student(dir.path(), "alice", HELO);
    let out = socklab()
        .args(["check", "--only", "hello/prints", "--lab"])
        .arg(minilab_dir())
        .current_dir(&alice)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", said(&out));
    // hello/prints is 2 of the lab's 3 points, scaled to 10: 6.67, as it
    // shows in a full run; not the whole 10.
    let report = text(&out.stdout);
    assert!(report.contains("hello/prints"), "{report}");
    assert!(
        report.contains(
            "score: 0 / 6.67   (only the 1 scenario selected, of 2; 0 of 1 scored scenarios passed"
        ),
        "{report}"
    );
}

#[test]
fn check_shows_each_scenario_as_it_finishes_off_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let alice = student(dir.path(), "alice", HELO);
    let out = socklab()
        .arg("check")
        .arg("--lab")
        .arg(minilab_dir())
        .current_dir(&alice)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", said(&out));
    let progress = text(&out.stderr);
    let lines: Vec<&str> = progress.lines().collect();
    assert!(
        lines[0].starts_with("build: ok, 1 program(s)"),
        "{progress}"
    );
    let mut finished: Vec<&str> = lines
        .iter()
        .filter(|l| l.starts_with('['))
        .copied()
        .collect();
    assert_eq!(finished.len(), 2, "a line per scenario: {progress}");
    finished.sort();
    assert!(
        finished[0].starts_with("[1/2] ") && finished[1].starts_with("[2/2] "),
        "{progress}"
    );
    assert!(
        finished
            .iter()
            .any(|l| l.contains("FAIL   hello/prints  0 / 6.67  (")),
        "{progress}"
    );
    assert!(
        finished
            .iter()
            .any(|l| l.contains("PASS   hello/exits-zero  3.33 / 3.33  (")),
        "{progress}"
    );
    assert!(
        !progress.contains('\u{1b}') && !progress.contains('\r'),
        "plain lines off a terminal: {progress:?}"
    );
}

/// `socklab check` in a terminal (util-linux `script` gives it one), with
/// `NO_COLOR` set or not: what the terminal received.
fn check_in_a_terminal(dir: &Path, no_color: bool) -> String {
    let alice = student(dir, "alice", HELO);
    let command = format!(
        "{} check --lab {}",
        common::socklab_path().display(),
        minilab_dir().display()
    );
    let mut script = std::process::Command::new("script");
    script
        .args(["-qec", &command, "/dev/null"])
        .current_dir(&alice)
        .env("TERM", "xterm");
    if no_color {
        script.env("NO_COLOR", "1");
    } else {
        script.env_remove("NO_COLOR");
    }
    let out = script.output().expect("util-linux `script` runs");
    text(&out.stdout)
}

#[test]
fn check_in_a_terminal_shows_live_progress_and_respects_no_color() {
    let dir = tempfile::tempdir().unwrap();
    let colored = check_in_a_terminal(&dir.path().join("color"), false);
    assert!(
        colored.contains("scenarios"),
        "the live status line: {colored:?}"
    );
    assert!(
        colored.contains("\u{1b}[31mFAIL"),
        "a red FAIL: {colored:?}"
    );
    let plain = check_in_a_terminal(&dir.path().join("plain"), true);
    assert!(plain.contains("FAIL"), "{plain:?}");
    assert!(
        !plain.contains("\u{1b}[31m")
            && !plain.contains("\u{1b}[32m")
            && !plain.contains("\u{1b}[1m"),
        "NO_COLOR: no colours, in the progress nor the report: {plain:?}"
    );
}

// -------------------------------------------------------------------- TA

#[test]
fn grade_exits_zero_when_every_student_was_graded_whatever_they_scored() {
    let dir = tempfile::tempdir().unwrap();
    let class = dir.path().join("class");
    student(&class, "alice", HELLO);
    student(&class, "bob", HELO);
    write(
        &class.join("carol/hello.c"),
        "int main(void) { return 0 }\n",
    );
    let out = socklab()
        .arg("grade")
        .arg(minilab_dir().join("lab.yaml"))
        .arg("--submissions")
        .arg(&class)
        .arg("--out")
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    let grades = std::fs::read_to_string(dir.path().join("out/grades.csv")).unwrap();
    assert!(
        grades.lines().any(|l| l.starts_with("bob,")) && grades.contains("build failed"),
        "students failed, and it is in the results: {grades}"
    );
    let help = socklab().args(["grade", "--help"]).output().unwrap();
    assert!(
        text(&help.stdout).contains(
            "Exit status: 0 when every submission was graded, whatever the students scored"
        ),
        "{}",
        said(&help)
    );
}

#[test]
fn reference_help_lists_every_program_and_each_program_has_its_own() {
    for flag in ["--help", "-h", "help"] {
        let out = socklab().args(["reference", flag]).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", said(&out));
        let help = text(&out.stdout);
        for program in socklab_reference::Program::ALL {
            assert!(help.contains(program.name()), "{program} in {help}");
        }
        assert!(help.contains("Usage: socklab reference"), "{help}");
    }
    let out = socklab()
        .args(["reference", "lottery-server", "--help"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    assert!(text(&out.stdout).contains("Usage: lottery-server"));
    let out = socklab()
        .args(["reference", "lotery-server"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", said(&out));
    assert!(text(&out.stderr).contains("did you mean `lottery-server`?"));
}
