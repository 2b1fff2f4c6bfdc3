//! The runner's promises, tested with the real binary: reference programs
//! pass the whole suite, wrong modes fail where they should, the fallback
//! and multi-host modes do what they say, nothing outlives socklab, hostile
//! programs are graded not obeyed, and bad files are rejected precisely.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;

fn script(dir: &Path, name: &str, body: &str) {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn reference_programs_as_the_submission_pass_the_whole_suite() {
    let dir = tempfile::tempdir().unwrap();
    reference_submission(dir.path(), &[]);
    let (_, report) = run_json(&[lab3().to_str().unwrap(), "-j", "4"], dir.path());
    let failed = scenarios_with(&report, "failed");
    let errors = scenarios_with(&report, "error");
    assert!(
        failed.is_empty() && errors.is_empty(),
        "failed {failed:?}, errors {errors:?}"
    );
    if namespaces_available() {
        assert_eq!(report["score"], report["max_score"]);
    }
}

#[test]
fn an_iterative_echo_server_fails_two_clients_at_once() {
    let dir = tempfile::tempdir().unwrap();
    reference_submission(
        dir.path(),
        &[("tcpserv", "echo-server --concurrency iterative")],
    );
    let (out, report) = run_json(&[lab3().to_str().unwrap(), "--only", "echo/"], dir.path());
    assert_eq!(out.status.code(), Some(1), "some check failed");
    let failed = scenarios_with(&report, "failed");
    assert!(
        failed.contains(&"echo/two-clients-at-once".to_string()),
        "{failed:?}"
    );
    let scenario = report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "echo/two-clients-at-once")
        .unwrap();
    let check = scenario["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["status"] == "failed")
        .unwrap();
    let hint = check["hint"].as_str().unwrap();
    assert!(
        hint.contains("fork()"),
        "the hint points at the mistake: {hint}"
    );
    assert!(
        check["sent"].as_str().unwrap().contains("second client"),
        "what was sent is shown"
    );
}

#[test]
fn the_loopback_fallback_runs_and_skips_what_needs_hosts() {
    let (_, report) = run_json(
        &[
            lab3().to_str().unwrap(),
            "--isolation",
            "loopback",
            "--only",
            "lottery/server",
        ],
        &good(),
    );
    assert_eq!(report["isolation"]["level"], "loopback");
    assert_eq!(scenarios_with(&report, "passed").len(), 3, "{report:#}");

    let (out, report) = run_json(
        &[
            lab3().to_str().unwrap(),
            "--isolation",
            "loopback",
            "--only",
            "twohosts/",
        ],
        &good(),
    );
    let skipped = scenarios_with(&report, "skipped");
    assert_eq!(skipped.len(), 2, "{report:#}");
    assert!(
        scenarios_with(&report, "passed").is_empty(),
        "skipped, never passed"
    );
    let reason = report["scenarios"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("needs 2 hosts"), "{reason}");
    assert_eq!(
        out.status.code(),
        Some(1),
        "a skipped scenario is not a pass"
    );
}

#[test]
fn two_hosts_get_their_own_addresses() {
    if !namespaces_available() {
        eprintln!("skipped: network namespaces are not available on this machine");
        return;
    }
    let (_, report) = run_json(&[lab3().to_str().unwrap(), "--only", "twohosts/"], &good());
    assert_eq!(scenarios_with(&report, "passed").len(), 2, "{report:#}");
    let (_, report) = run_json(
        &[lab3().to_str().unwrap(), "--only", "twohosts/"],
        &fixture("bind-loopback"),
    );
    assert_eq!(scenarios_with(&report, "failed").len(), 2, "{report:#}");
}

/// Starts socklab on a program that daemonises helpers and hangs, waits for
/// the helpers, stops socklab with `signal`, and checks nothing is left.
fn nothing_left_after(signal: i32, isolation: &str) {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().display().to_string();
    script(
        dir.path(),
        "spawner",
        "if [ \"$1\" = child ]; then while :; do sleep 1; done; fi\n\
         setsid \"$0\" child > /dev/null 2>&1 < /dev/null &\n\
         ( setsid \"$0\" child > /dev/null 2>&1 < /dev/null & ) \n\
         echo ready\n\
         exec \"$0\" child",
    );
    let mut socklab = socklab()
        .args(["run", "--isolation", isolation, "--submission"])
        .arg(dir.path())
        .arg(repo().join("tests/scenarios/leftovers.yaml"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while processes_mentioning(&marker).len() < 3 {
        assert!(Instant::now() < deadline, "the helpers never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: signalling the child we spawned.
    unsafe {
        libc::kill(socklab.id() as i32, signal);
    }
    let status = socklab.wait().unwrap();
    assert!(!status.success());
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = processes_mentioning(&marker);
        if left.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "left behind after socklab ended: {left:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn nothing_is_left_after_sigterm() {
    nothing_left_after(libc::SIGTERM, "auto");
}

#[test]
fn nothing_is_left_after_sigint_in_the_loopback_fallback() {
    nothing_left_after(libc::SIGINT, "loopback");
}

#[test]
fn nothing_is_left_after_sigkill_with_namespaces() {
    if !namespaces_available() {
        eprintln!(
            "skipped: without a pid namespace, SIGKILL of socklab cannot take its programs along"
        );
        return;
    }
    nothing_left_after(libc::SIGKILL, "namespaces");
}

#[test]
fn hostile_programs_are_graded_not_obeyed() {
    let dir = tempfile::tempdir().unwrap();
    script(dir.path(), "crasher", "kill -SEGV $$");
    script(dir.path(), "hanger", "exec sleep 1000");
    script(
        dir.path(),
        "garbler",
        "printf 'hel\\001\\000lo'; sleep 1000",
    );
    script(dir.path(), "spewer", "yes spew | head -c 5000000");
    script(
        dir.path(),
        "stale",
        "printf 'Tue Sep  5 11:04:47 2017\\r\\n'",
    );
    let started = Instant::now();
    let (out, report) = run_json(
        &[repo()
            .join("tests/scenarios/hostile.yaml")
            .to_str()
            .unwrap()],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(started.elapsed() < Duration::from_secs(60), "no hang");
    let check = |name: &str| -> serde_json::Value {
        let s = report["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap();
        assert_eq!(s["status"], "failed", "{name}: {s:#}");
        s["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["status"] == "failed")
            .unwrap()
            .clone()
    };
    let crash = check("hostile/crash");
    assert!(
        crash["message"].as_str().unwrap().contains("SIGSEGV"),
        "{crash:#}"
    );
    let hang = check("hostile/hang");
    assert!(
        hang["message"].as_str().unwrap().contains("did not print"),
        "{hang:#}"
    );
    let garbage = check("hostile/garbage");
    assert!(
        garbage["observed"]
            .as_str()
            .unwrap()
            .contains("hel\\x01\\0lo"),
        "{garbage:#}"
    );
    let stale = check("hostile/stale-time");
    assert!(
        stale["message"]
            .as_str()
            .unwrap()
            .contains("away from the grader's clock"),
        "{stale:#}"
    );
    let spew = check("hostile/spew");
    assert!(
        spew["message"]
            .as_str()
            .unwrap()
            .contains("output truncated after"),
        "{spew:#}"
    );
}

#[test]
fn bad_scenario_files_are_rejected_with_place_and_fix() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.yaml");
    std::fs::write(
        &file,
        "scenarios:\n  - name: x\n    steps:\n      - start: s\n        program: P\n      - wait_listen: s\n        prot: 3\n",
    )
    .unwrap();
    let out = socklab().arg("validate").arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("bad.yaml:7:9"), "{text}");
    assert!(
        text.contains("unknown key `prot` in a `wait_listen` step"),
        "{text}"
    );
    assert!(text.contains("did you mean `port`?"), "{text}");

    let out = socklab()
        .args(["run", "--submission", "/nonexistent"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "a bad file is refused before running"
    );

    let out = socklab().arg("schema").output().unwrap();
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(schema["title"], "socklab scenario file");
}

#[test]
fn a_fixture_can_be_a_programs_stdin_and_output_can_look_at_any_stream() {
    let dir = tempfile::tempdir().unwrap();
    let submission = dir.path().join("submission");
    std::fs::create_dir_all(&submission).unwrap();
    // Adds the two numbers of each line (tcpserv08's arithmetic, on stdin).
    script(
        &submission,
        "adder",
        "while read a b; do echo $((a + b)); done; echo 'adder: done' >&2",
    );
    script(&submission, "quiet", "exit 1");
    let scenarios = dir.path().join("stdin.yaml");
    std::fs::write(
        &scenarios,
        r#"
scenarios:
  - name: stdin/fixture
    fixtures:
      input: { text: "2 5\n11 123\n", times: 2 }
      replies: { text: "7\n134\n", times: 2 }
    steps:
      - start: p
        program: adder
        stdin: { fixture: input }
      - exit: p
        code: 0
      - output: p
        fixture: replies
        title: every line of the fixture was read from stdin
      - output: p
        regex: 'adder: done'
        stream: any
        title: found on stderr
  - name: stdin/any-stream-fails
    steps:
      - start: q
        program: quiet
        stdin: pipe
      - exit: q
        code: nonzero
      - output: q
        regex: '(?i)usage'
        stream: any
"#,
    )
    .unwrap();
    let (out, report) = run_json(&[scenarios.to_str().unwrap()], &submission);
    assert_eq!(out.status.code(), Some(1), "one scenario fails");
    assert_eq!(scenarios_with(&report, "passed"), ["stdin/fixture"]);
    assert_eq!(
        scenarios_with(&report, "failed"),
        ["stdin/any-stream-fails"]
    );
    let failed = report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "stdin/any-stream-fails")
        .unwrap();
    let text = failed.to_string();
    assert!(text.contains("stdout and stderr"), "{text}");
}
