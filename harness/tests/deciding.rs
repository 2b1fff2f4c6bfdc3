//! Deciding instead of waiting, end to end (`docs/deciding.md`): a wait for
//! something that can no longer happen fails at once with the kernel's
//! evidence, a `silence` is proven as soon as nothing can arrive, and
//! programs that are merely slow (an answer after 300 ms, a print after a
//! 300 ms sleep, 300 ms of computing) still pass.
//!
//! The programs are one small C file compiled here with gcc, run by the real
//! `socklab run` on scenario files written here. Every wait has a deadline of
//! 60 s: a check decided early says so in its message ("socklab decided at
//! once", "nothing could arrive any more"), which only the decision writes,
//! so no assertion depends on the machine's speed. Where the machine gives
//! socklab no namespaces it does not decide, and only the slow programs'
//! verdicts are checked.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use common::*;

const PROGRAM: &str = r#"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int accept_one(const char *port) {
    int l = socket(AF_INET, SOCK_STREAM, 0);
    int on = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(atoi(port)) };
    if (bind(l, (struct sockaddr *)&a, sizeof a) < 0) { perror("bind"); exit(1); }
    listen(l, 8);
    return accept(l, NULL, NULL);
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    char buf[4096];
    const char *mode = argc > 1 ? argv[1] : "";
    if (!strcmp(mode, "answer-after")) {    /* PORT MS: read a line, sleep, answer */
        int c = accept_one(argv[2]);
        if (read(c, buf, sizeof buf) <= 0) return 1;
        usleep(atoi(argv[3]) * 1000);
        write(c, "answer\n", 7);
        while (read(c, buf, sizeof buf) > 0) {}
        return 0;
    }
    if (!strcmp(mode, "compute-then-answer")) { /* PORT MS: read a line, compute, answer */
        int c = accept_one(argv[2]);
        if (read(c, buf, sizeof buf) <= 0) return 1;
        double until = now() + atoi(argv[3]) / 1000.0;
        volatile unsigned long spins = 0;
        while (now() < until) spins++;
        write(c, "answer\n", 7);
        while (read(c, buf, sizeof buf) > 0) {}
        return 0;
    }
    if (!strcmp(mode, "print-after")) {     /* MS: sleep, print, then wait for input */
        usleep(atoi(argv[2]) * 1000);
        printf("hello\n");
        fflush(stdout);
        while (read(0, buf, sizeof buf) > 0) {}
        return 0;
    }
    if (!strcmp(mode, "mute")) {            /* PORT: take what comes, never answer */
        int c = accept_one(argv[2]);
        while (read(c, buf, sizeof buf) > 0) {}
        return 0;
    }
    if (!strcmp(mode, "read-stdin")) {      /* wait for input, print nothing */
        while (read(0, buf, sizeof buf) > 0) {}
        return 0;
    }
    fprintf(stderr, "unknown mode %s\n", mode);
    return 2;
}
"#;

/// A submission folder holding the test program as `prog`, compiled once.
fn submission() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("socklab-deciding-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let source = dir.join("prog.c");
        std::fs::write(&source, PROGRAM).unwrap();
        let out = Command::new("gcc")
            .args(["-O0", "-o"])
            .arg(dir.join("prog"))
            .arg(&source)
            .output()
            .expect("gcc runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        dir
    })
}

/// Runs the scenarios of `yaml` against the test program; the JSON report.
fn run(yaml: &str) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("scenarios.yaml");
    std::fs::write(&file, yaml).unwrap();
    let (_, report) = run_json(&[file.to_str().unwrap()], submission());
    report
}

/// The checks of scenario `name`: (title, status, message).
fn checks(report: &serde_json::Value, name: &str) -> Vec<(String, String, String)> {
    let scenario = report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no scenario {name} in {report:#}"));
    scenario["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let text = |k: &str| c[k].as_str().unwrap_or_default().to_string();
            (text("title"), text("status"), text("message"))
        })
        .collect()
}

fn check<'a>(checks: &'a [(String, String, String)], title: &str) -> &'a (String, String, String) {
    checks
        .iter()
        .find(|(t, _, _)| t == title)
        .unwrap_or_else(|| panic!("no check `{title}` in {checks:#?}"))
}

const SLOW_BUT_CORRECT: &str = r#"
scenarios:
  - name: slow/answer-after-300ms
    ports: { p: 9000 }
    steps:
      - start: srv
        program: prog
        args: [answer-after, "{{ports.p}}", "300"]
        stdin: null
      - wait_listen: srv
        port: "{{ports.p}}"
      - connect: c
        to: "127.0.0.1:{{ports.p}}"
      - send: c
        line: question
      - recv: c
        text: "answer\n"
        within: 60s
        title: the answer comes after 300 ms
  - name: slow/compute-for-300ms
    ports: { p: 9000 }
    steps:
      - start: srv
        program: prog
        args: [compute-then-answer, "{{ports.p}}", "300"]
        stdin: null
      - wait_listen: srv
        port: "{{ports.p}}"
      - connect: c
        to: "127.0.0.1:{{ports.p}}"
      - send: c
        line: question
      - recv: c
        text: "answer\n"
        within: 60s
        title: the answer comes after 300 ms of computing
  - name: slow/print-after-300ms
    steps:
      - start: cli
        program: prog
        args: [print-after, "300"]
      - expect: cli
        text: hello
        within: 60s
        title: the greeting comes after a 300 ms sleep
"#;

#[test]
fn programs_that_are_slow_but_correct_pass() {
    let report = run(SLOW_BUT_CORRECT);
    for (scenario, title) in [
        ("slow/answer-after-300ms", "the answer comes after 300 ms"),
        (
            "slow/compute-for-300ms",
            "the answer comes after 300 ms of computing",
        ),
        (
            "slow/print-after-300ms",
            "the greeting comes after a 300 ms sleep",
        ),
    ] {
        let checks = checks(&report, scenario);
        let (_, status, message) = check(&checks, title);
        assert_eq!(status, "passed", "{scenario}: {message}");
    }
}

const CANNOT_HAPPEN: &str = r#"
scenarios:
  - name: never/answer
    ports: { p: 9000 }
    steps:
      - start: srv
        program: prog
        args: [mute, "{{ports.p}}"]
        stdin: null
      - wait_listen: srv
        port: "{{ports.p}}"
      - connect: c
        to: "127.0.0.1:{{ports.p}}"
      - send: c
        line: question
      - recv: c
        text: "answer\n"
        within: 60s
        title: an answer that never comes
  - name: never/print-or-exit
    steps:
      - start: cli
        program: prog
        args: [read-stdin]
      - expect: cli
        text: hello
        within: 60s
        soft: true
        title: a greeting that never comes
      - exit: cli
        within: 60s
        title: an exit that never comes
  - name: never/arrives
    ports: { p: 9000 }
    steps:
      - start: srv
        program: prog
        args: [mute, "{{ports.p}}"]
        stdin: null
      - wait_listen: srv
        port: "{{ports.p}}"
      - connect: c
        to: "127.0.0.1:{{ports.p}}"
      - send: c
        line: question
      - silence: c
        for: 60s
        within: 61s
        title: nothing comes back
"#;

#[test]
fn waits_for_what_cannot_happen_end_at_once_with_the_kernels_evidence() {
    let report = run(CANNOT_HAPPEN);
    let decided = namespaces_available();

    let never = checks(&report, "never/answer");
    let (_, status, message) = check(&never, "an answer that never comes");
    assert_eq!(status, "failed", "{message}");
    if decided {
        assert!(
            message.contains("socklab decided at once")
                // The settled look's words, or the blame's (which names
                // the student program first and leaves the look nothing new).
                && (message.contains("prog (submission): sleeping in read() on fd")
                    || message.contains("prog (submission) is sleeping in read() on fd"))
                && message.contains("0 bytes queued"),
            "the failure names the blocked read and its empty socket: {message}"
        );
    }

    let never = checks(&report, "never/print-or-exit");
    for title in ["a greeting that never comes", "an exit that never comes"] {
        let (_, status, message) = check(&never, title);
        assert_eq!(status, "failed", "{message}");
        if decided {
            assert!(
                message.contains("socklab decided at once")
                    && message.contains("sleeping in read() on fd 0"),
                "{title}: the failure says the program waits for its input: {message}"
            );
        }
    }

    let silent = checks(&report, "never/arrives");
    let (_, status, message) = check(&silent, "nothing comes back");
    assert_eq!(status, "passed", "{message}");
    if decided {
        assert!(
            message.contains("nothing could arrive any more"),
            "the silence is proven, not waited out: {message}"
        );
    }
}

const IN_PROCESS: &str = r#"
scenarios:
  - name: inside/iterative-server
    ports: { echo: 9877 }
    steps:
      - start: srv
        program: echo-server
        from: reference
        args: ["--concurrency", "iterative"]
        in_process: true
      - wait_listen: srv
        port: "{{ports.echo}}"
      - connect: first
        to: "127.0.0.1:{{ports.echo}}"
      - send: first
        line: one
      - recv: first
        text: "one\n"
      - connect: second
        to: "127.0.0.1:{{ports.echo}}"
      - send: second
        line: two
      - silence: second
        for: 60s
        within: 61s
        title: the second client waits while the first is served
      - close: first
      - recv: second
        text: "two\n"
        within: 60s
        title: the second client is served once the first leaves
"#;

#[test]
fn an_in_process_reference_program_waiting_for_input_is_decided_too() {
    let report = run(IN_PROCESS);
    let checks = checks(&report, "inside/iterative-server");
    let (_, status, message) = check(&checks, "the second client waits while the first is served");
    assert_eq!(status, "passed", "{message}");
    if namespaces_available() {
        assert!(
            message.contains("nothing could arrive any more"),
            "the iterative server inside socklab was seen waiting: {message}"
        );
    }
    let (_, status, message) = check(&checks, "the second client is served once the first leaves");
    assert_eq!(
        status, "passed",
        "after the decision it still works: {message}"
    );
}

const TWO_BRANCHES: &str = r#"
scenarios:
  - name: branches/both-silent
    ports: { p: 9000 }
    steps:
      - start: srv
        program: prog
        args: [mute, "{{ports.p}}"]
        stdin: null
      - wait_listen: srv
        port: "{{ports.p}}"
      - connect: c
        to: "127.0.0.1:{{ports.p}}"
      - concurrently:
          - - silence: c
              for: 1s
              title: nothing comes back in the first branch
          - - running: srv
              for: 1s
              title: the server runs on in the second branch
"#;

#[test]
fn concurrent_branches_are_not_decided_while_two_run() {
    let report = run(TWO_BRANCHES);
    let checks = checks(&report, "branches/both-silent");
    let (_, status, message) = check(&checks, "nothing comes back in the first branch");
    assert_eq!(status, "passed", "{message}");
    assert!(
        !message.contains("nothing could arrive any more"),
        "with another branch running, the silence is waited out: {message}"
    );
}

/// A program that has already exited is typed into, on a pipe and on a
/// terminal: whether it was gone when socklab typed is timing, so the
/// typing is not what fails; the check after it says what the program did.
/// The steps after the scenario's header: the program exits, is typed
/// into, and its output is checked.
const TYPED_INTO_A_PROGRAM_GONE: &str = r#"
    steps:
      - start: cli
        program: prog
        args: [gone]
        stdin: STDIN
      - exit: cli
        code: 2
        title: it exits at once
      - type: cli
        line: hello
      - type: cli
        eof: true
      - expect: cli
        text: hello
        title: it echoes what was typed
"#;

#[test]
fn typing_into_a_program_that_has_exited_leaves_the_verdict_to_the_next_check() {
    // On a pipe, and on a terminal (`pty`, the default).
    let scenarios: String = ["pipe", "pty"]
        .iter()
        .map(|stdin| {
            format!(
                "  - name: gone/{stdin}{}",
                TYPED_INTO_A_PROGRAM_GONE.replace("STDIN", stdin)
            )
        })
        .collect();
    let report = run(&format!("scenarios:\n{scenarios}"));
    for name in ["gone/pipe", "gone/pty"] {
        let checks = checks(&report, name);
        let (_, status, message) = check(&checks, "it exits at once");
        assert_eq!(status, "passed", "{name}: {message}");
        let (_, status, message) = check(&checks, "it echoes what was typed");
        assert_eq!(status, "failed", "{name}: {message}");
        assert!(
            message.contains("closed its output without printing"),
            "{name}: {message}"
        );
        assert!(
            checks.iter().all(|(_, _, m)| !m.contains("could not")),
            "{name}: {checks:#?}"
        );
    }
}
