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

/// Runs `socklab run ARGS --format json` as the unprivileged user `nobody`
/// (the test needs root to switch), with extra environment.
fn run_json_as_nobody(args: &[&str], env: &[(&str, &str)]) -> Option<serde_json::Value> {
    // SAFETY: geteuid has no side effects.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: this test switches to `nobody`, which needs root");
        return None;
    }
    let as_nobody = || {
        let mut command = std::process::Command::new("setpriv");
        command.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"]);
        command
    };
    // A checkout in a private folder is out of nobody's reach.
    let reachable = as_nobody()
        .arg("test")
        .arg("-x")
        .arg(socklab_path())
        .arg("-a")
        .arg("-r")
        .arg(lab3())
        .arg("-a")
        .arg("-r")
        .arg(good().join("tcpserv.c"))
        .status()
        .is_ok_and(|s| s.success());
    if !reachable {
        eprintln!("skipped: `nobody` cannot read this checkout or run its socklab binary");
        return None;
    }
    let out = as_nobody()
        .arg(socklab_path())
        .args(["run", "--format", "json"])
        .args(args)
        .arg(lab3())
        .arg("--submission")
        .arg(good())
        .env("TMPDIR", "/tmp")
        .envs(env.iter().copied())
        .output()
        .expect("setpriv (util-linux) runs");
    Some(serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON report ({e}); stderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    }))
}

/// What a student on a locked-down laptop gets: socklab run by an
/// unprivileged user who cannot make namespaces finds so by itself, says
/// so, runs what loopback allows and skips the rest.
#[test]
fn an_unprivileged_user_without_namespaces_falls_back_to_loopback() {
    let Some(report) = run_json_as_nobody(
        &[
            "--only",
            "lottery/server-generates",
            "--only",
            "twohosts/lottery",
        ],
        &[("SOCKLAB_USERNS", "0")],
    ) else {
        return;
    };
    assert_eq!(report["isolation"]["level"], "loopback", "{report:#}");
    let notes = report["isolation"]["notes"].to_string();
    assert!(notes.contains("namespaces unavailable"), "{notes}");
    let skipped = scenarios_with(&report, "skipped");
    assert_eq!(skipped, vec!["twohosts/lottery".to_string()], "{report:#}");
    assert_eq!(
        scenarios_with(&report, "passed"),
        vec!["lottery/server-generates-six-distinct".to_string()],
        "{report:#}"
    );
}

/// Where the kernel lets an unprivileged user make namespaces in a user
/// namespace of their own (asked independently with `unshare`), socklab
/// uses one and runs even the two-host scenarios; where it does not, it
/// falls back and says why.
#[test]
fn an_unprivileged_user_gets_namespaces_where_the_kernel_allows() {
    let Some(report) = run_json_as_nobody(
        &["--only", "daytime/server", "--only", "twohosts/lottery"],
        &[],
    ) else {
        return;
    };
    let allowed = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .args([
            "unshare",
            "--user",
            "--map-root-user",
            "--net",
            "--pid",
            "--mount",
            "--fork",
            "true",
        ])
        .status()
        .is_ok_and(|s| s.success());
    let notes = report["isolation"]["notes"].to_string();
    if allowed {
        assert_eq!(report["isolation"]["level"], "namespaces", "{report:#}");
        assert!(notes.contains("user namespace of its own"), "{notes}");
        assert_eq!(scenarios_with(&report, "passed").len(), 2, "{report:#}");
    } else {
        assert_eq!(report["isolation"]["level"], "loopback", "{report:#}");
        assert!(notes.contains("no user namespace either"), "{notes}");
    }
}

#[test]
fn two_hosts_get_their_own_addresses() {
    if !namespaces_available() {
        eprintln!("skipped: network namespaces are not available on this machine");
        return;
    }
    let (_, report) = run_json(&[lab3().to_str().unwrap(), "--only", "twohosts/"], &good());
    assert_eq!(scenarios_with(&report, "passed").len(), 2, "{report:#}");
    let laid_out = tempfile::tempdir().unwrap();
    let (_, report) = run_json(
        &[lab3().to_str().unwrap(), "--only", "twohosts/"],
        &lay_out_fixture("bind-loopback", laid_out.path()),
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
    assert_none_left(&marker, "left behind after socklab ended");
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
fn nothing_is_left_after_sigterm_in_the_loopback_fallback() {
    nothing_left_after(libc::SIGTERM, "loopback");
}

#[test]
fn nothing_is_left_after_sigint_with_namespaces() {
    if !namespaces_available() {
        eprintln!("skipped: network namespaces are not available on this machine");
        return;
    }
    nothing_left_after(libc::SIGINT, "namespaces");
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

/// Starts socklab on a FIFO destination and a spewer, stops it with
/// `signal` once the spewer prints, and returns how long socklab took to
/// end after the signal.
fn time_to_end_after(signal: i32) -> Duration {
    let dir = tempfile::tempdir().unwrap();
    script(dir.path(), "fifo-maker", "mkfifo copy");
    script(
        dir.path(),
        "spewer",
        // Fast enough to keep socklab busy, slow enough to stay under the
        // output limit (which would end the scenario) for a while.
        "while :; do echo 'spewing a line of output, over and over'; sleep 0.001; done",
    );
    let work = tempfile::tempdir().unwrap();
    // Programs run as uids of their own, which must reach their folders.
    std::fs::set_permissions(work.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut socklab = socklab()
        .env("TMPDIR", work.path())
        .args(["run", "--submission"])
        .arg(dir.path())
        .arg(repo().join("tests/scenarios/interrupt.yaml"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let marker = dir.path().display().to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    // The spewer runs from the submission's folder (scripts are not built).
    while !processes_mentioning(&marker)
        .iter()
        .any(|(_, cmdline)| cmdline.contains("spewer"))
    {
        assert!(Instant::now() < deadline, "the spewer never started");
        assert!(
            socklab.try_wait().unwrap().is_none(),
            "socklab ended before the spewer started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let signalled = Instant::now();
    // SAFETY: signalling the child we spawned.
    unsafe {
        libc::kill(socklab.id() as i32, signal);
    }
    let status = socklab.wait().unwrap();
    let took = signalled.elapsed();
    let expected = 128 + signal;
    assert_eq!(status.code(), Some(expected), "{status:?}");
    took
}

/// The promise is a second; the assertion leaves room for a loaded machine
/// (the figure is printed).
#[test]
fn sigint_and_sigterm_end_socklab_beside_a_fifo_and_a_spewer() {
    for (signal, name) in [(libc::SIGINT, "SIGINT"), (libc::SIGTERM, "SIGTERM")] {
        let took = time_to_end_after(signal);
        println!(
            "{name}: socklab ended {} ms after the signal",
            took.as_millis()
        );
        assert!(took < Duration::from_secs(5), "{name}: {took:?}");
    }
}

/// `kill -9 socklab` leaves its working folder, its cgroups and its claim;
/// the next socklab removes them at start-up.
#[test]
fn what_a_killed_socklab_left_is_removed_by_the_next() {
    if !namespaces_available() {
        eprintln!("skipped: needs root and namespaces (claims live in /run/socklab)");
        return;
    }
    let work = tempfile::tempdir().unwrap();
    // Programs run as uids of their own, which must reach their folders.
    std::fs::set_permissions(work.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    script(
        dir.path(),
        "spawner",
        "if [ \"$1\" = child ]; then while :; do sleep 1; done; fi\n\
         echo ready\n\
         exec \"$0\" child",
    );
    let mut killed = socklab()
        .env("TMPDIR", work.path())
        .args(["run", "--isolation", "namespaces", "--submission"])
        .arg(dir.path())
        .arg(repo().join("tests/scenarios/leftovers.yaml"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The program runs from the submission's folder (scripts are not built).
    let running = dir.path().display().to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !processes_mentioning(&running)
        .iter()
        .any(|(_, cmdline)| cmdline.contains("spawner"))
    {
        if Instant::now() > deadline {
            let _ = killed.kill();
            panic!("the program never started");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = killed.id();
    let claims = Path::new("/run/socklab/runs");
    let Some(claim) = std::fs::read_dir(claims)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&format!("{pid}."))
        })
    else {
        let _ = killed.kill();
        panic!("a run holds a claim named after its pid");
    };
    let id = claim
        .file_name()
        .unwrap()
        .to_string_lossy()
        .trim_end_matches(".run")
        .to_string();
    let folders: Vec<std::path::PathBuf> = std::fs::read_to_string(&claim)
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix("folder "))
        .map(std::path::PathBuf::from)
        .collect();
    assert!(
        !folders.is_empty(),
        "the claim lists the run's working folder"
    );
    let cgroups_before = cgroups_named(&format!("s{id}-"));
    // SAFETY: killing the child we spawned.
    unsafe {
        libc::kill(pid as i32, libc::SIGKILL);
    }
    killed.wait().unwrap();
    assert!(claim.exists() && folders.iter().all(|f| f.exists()));
    println!(
        "killed run {id} left its claim, {} folder(s) and {} cgroup(s)",
        folders.len(),
        cgroups_before.len()
    );

    let next = socklab()
        .env("TMPDIR", work.path())
        .args(["run", "--submission"])
        .arg(dir.path())
        .arg(repo().join("tests/scenarios/noop.yaml"))
        .output()
        .unwrap();
    assert!(next.status.code().is_some(), "{next:?}");
    assert!(!claim.exists(), "the dead run's claim is removed");
    for folder in &folders {
        assert!(!folder.exists(), "{} is removed", folder.display());
    }
    let left = cgroups_named(&format!("s{id}-"));
    assert!(
        left.is_empty(),
        "the dead run's cgroups are removed: {left:?}"
    );
}

/// Cgroup folders whose names start with `prefix`, in the hierarchies
/// socklab uses.
fn cgroups_named(prefix: &str) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for root in [
        "/sys/fs/cgroup/socklab",
        "/sys/fs/cgroup/pids/socklab",
        "/sys/fs/cgroup/cpu/socklab",
        "/sys/fs/cgroup/memory/socklab",
    ] {
        let Ok(entries) = std::fs::read_dir(root) else {
            continue;
        };
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with(prefix) {
                found.push(entry.path());
            }
        }
    }
    found
}

#[test]
fn writes_outside_the_working_directory_are_reported_and_kept_away() {
    stray_writes_are_reported_and_kept_away(&socklab_path());
}

/// socklab's binary is mounted back into the programs' private `/tmp`
/// (reference programs are socklab): when it lies in `/tmp` itself, the
/// programs still get a `/tmp` of their own, not the machine's.
#[test]
fn scratch_folders_stay_private_when_socklab_lies_in_one() {
    let binary = Path::new("/tmp").join(format!("socklab-bin-{}", std::process::id()));
    let _ = std::fs::remove_file(&binary);
    if std::fs::hard_link(socklab_path(), &binary).is_err() {
        std::fs::copy(socklab_path(), &binary).unwrap();
    }
    struct Removed<'a>(&'a Path);
    impl Drop for Removed<'_> {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(self.0);
        }
    }
    let _removed = Removed(&binary);
    stray_writes_are_reported_and_kept_away(&binary);
}

/// Runs a program that writes into `/tmp` and into its own folder with the
/// socklab at `binary`: only the first write is reported, and the
/// machine's `/tmp` never sees it nor shows through.
fn stray_writes_are_reported_and_kept_away(binary: &Path) {
    if !namespaces_available() {
        eprintln!("skipped: private scratch directories need a mount namespace");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let name = format!("socklab-stray-{}", std::process::id());
    script(
        dir.path(),
        "stray",
        &format!("echo hi > /tmp/{name}; echo ok > \"$HOME/own-file\"; echo done"),
    );
    std::fs::write(
        dir.path().join("stray.yaml"),
        "scenarios:\n  - name: stray\n    steps:\n      - start: s\n        program: stray\n        stdin: null\n      - exit: s\n        code: 0\n",
    )
    .unwrap();
    let out = std::process::Command::new(binary)
        .arg("run")
        .arg(dir.path().join("stray.yaml"))
        .args(["--format", "json", "--submission"])
        .arg(dir.path())
        .output()
        .expect("socklab runs");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let checks = report["scenarios"][0]["checks"].as_array().unwrap();
    let stray = checks
        .iter()
        .find(|c| c["title"] == "the programs write only in their own directories")
        .unwrap_or_else(|| panic!("no report of the stray file: {report:#}"));
    assert_eq!(stray["status"], "observed");
    let observed = stray["observed"].as_str().unwrap();
    assert_eq!(
        observed,
        format!("/tmp/{name} (3 bytes)"),
        "the stray file alone (its own directory is its own, and nothing of the machine's /tmp shows)"
    );
    assert!(
        !Path::new("/tmp").join(&name).exists(),
        "the real /tmp is untouched"
    );
    assert_eq!(scenarios_with(&report, "passed"), vec!["stray".to_string()]);
}

/// A failed check inside `concurrently` shows what its own branch sent,
/// not what another branch sent meanwhile.
#[test]
fn a_concurrent_branch_reports_its_own_input() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("branches.yaml"),
        r#"scenarios:
  - name: branches
    ports: { p: auto }
    steps:
      - listen: srv
        port: "{{ports.p}}"
      - concurrently:
          - - connect: a
              to: "127.0.0.1:{{ports.p}}"
            - send: a
              line: from-a
            - silence: a
              for: 300ms
            - recv: a
              text: "never sent"
              within: 200ms
          - - connect: b
              to: "127.0.0.1:{{ports.p}}"
            - send: b
              line: from-b
"#,
    )
    .unwrap();
    let (_, report) = run_json(
        &[dir.path().join("branches.yaml").to_str().unwrap()],
        dir.path(),
    );
    let checks = report["scenarios"][0]["checks"].as_array().unwrap();
    let failed: Vec<_> = checks.iter().filter(|c| c["status"] == "failed").collect();
    assert_eq!(failed.len(), 1, "{report:#}");
    assert_eq!(failed[0]["step"], "2.a.4");
    let sent = failed[0]["sent"].as_str().unwrap();
    assert!(sent.contains("from-a"), "{sent}");
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
    // The spewer is frozen at its output limit: the wait for its exit
    // ends at once, as nothing can change any more, and the limit is
    // reported too.
    let spew = check("hostile/spew");
    let message = spew["message"].as_str().unwrap();
    assert!(
        message.contains("did not exit") && message.contains("socklab decided at once"),
        "{spew:#}"
    );
    assert!(
        message.contains("frozen by socklab with its process group at the output limit"),
        "{spew:#}"
    );
    assert!(spew["duration_secs"].as_f64().unwrap() < 10.0, "{spew:#}");
    let spew_checks = report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "hostile/spew")
        .unwrap()["checks"]
        .to_string();
    assert!(
        spew_checks.contains("output limit exceeded (1048576 bytes)"),
        "{spew_checks}"
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

#[test]
fn checks_not_reached_show_their_titles_filled_in() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("early.yaml"),
        r#"scenarios:
  - name: stops-early
    ports: { p: auto }
    steps:
      - listen: srv
        port: "{{ports.p}}"
      - connect: a
        to: "127.0.0.1:{{ports.p}}"
      - recv: a
        text: "never sent"
        within: 200ms
      - connect: b
        to: "127.0.0.1:{{ports.p}}"
"#,
    )
    .unwrap();
    let (_, report) = run_json(
        &[dir.path().join("early.yaml").to_str().unwrap()],
        dir.path(),
    );
    let checks = report["scenarios"][0]["checks"].as_array().unwrap();
    let not_reached: Vec<&str> = checks
        .iter()
        .filter(|c| c["status"] == "not_reached")
        .map(|c| c["title"].as_str().unwrap())
        .collect();
    assert_eq!(not_reached.len(), 1, "{report:#}");
    let title = regex::Regex::new(r"^connect `b` to 127\.0\.0\.1:\d+$").unwrap();
    assert!(title.is_match(not_reached[0]), "{report:#}");
}

#[test]
fn every_connection_sharing_a_name_has_its_transcript() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("reconnect.yaml"),
        r#"scenarios:
  - name: reconnect
    ports: { p: auto }
    steps:
      - listen: srv
        port: "{{ports.p}}"
      - connect: c
        to: "127.0.0.1:{{ports.p}}"
      - send: c
        line: first-visit
      - connect: c
        to: "127.0.0.1:{{ports.p}}"
      - send: c
        line: second-visit
"#,
    )
    .unwrap();
    let (_, report) = run_json(
        &[dir.path().join("reconnect.yaml").to_str().unwrap()],
        dir.path(),
    );
    let transcripts = report["scenarios"][0]["transcripts"].as_array().unwrap();
    let of = |label: &str| {
        transcripts
            .iter()
            .find(|t| t["label"] == label)
            .unwrap_or_else(|| panic!("no transcript {label:?}: {report:#}"))["text"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(
        of("connection `c` (1 of 2)").contains(">> first-visit"),
        "{report:#}"
    );
    assert!(
        of("connection `c` (2 of 2)").contains(">> second-visit"),
        "{report:#}"
    );
}

/// Compiles `source` into `dir/name` with gcc.
fn c_program(dir: &Path, name: &str, source: &str) {
    let src = dir.join(format!("{name}.c"));
    std::fs::write(&src, source).unwrap();
    let status = std::process::Command::new("gcc")
        .arg("-o")
        .arg(dir.join(name))
        .arg(&src)
        .status()
        .expect("gcc runs");
    assert!(status.success(), "{name}.c does not compile");
}

#[test]
fn a_hung_program_is_said_to_wait_on_the_descriptor_it_waits_on() {
    let dir = tempfile::tempdir().unwrap();
    c_program(
        dir.path(),
        "waits_stdin",
        "#include <unistd.h>\nint main(void) { char c; while (read(0, &c, 1) > 0) {} return 0; }\n",
    );
    c_program(
        dir.path(),
        "waits_socket",
        r#"#include <arpa/inet.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
int main(int argc, char **argv) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[1])) };
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (connect(s, (struct sockaddr *)&a, sizeof a) < 0) return 1;
    char c;
    while (read(s, &c, 1) > 0) {}
    return 0;
}
"#,
    );
    std::fs::write(
        dir.path().join("blocked.yaml"),
        r#"scenarios:
  - name: stdin-blocker
    steps:
      - start: p
        program: waits_stdin
      - expect: p
        text: "never printed"
        within: 500ms
  - name: socket-blocker
    ports: { p: auto }
    steps:
      - listen: srv
        port: "{{ports.p}}"
      - start: p
        program: waits_socket
        args: ["{{ports.p}}"]
        stdin: null
      - accept: srv
      - expect: p
        text: "never printed"
        within: 500ms
"#,
    )
    .unwrap();
    let (_, report) = run_json(
        &[dir.path().join("blocked.yaml").to_str().unwrap()],
        dir.path(),
    );
    let failure = |scenario: &str| {
        let scenario = report["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == scenario)
            .unwrap_or_else(|| panic!("no {scenario}: {report:#}"));
        let failed = scenario["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["status"] == "failed")
            .unwrap_or_else(|| panic!("nothing failed: {report:#}"));
        format!("{failed}")
    };
    let stdin = failure("stdin-blocker");
    assert!(
        stdin.contains(
            "sleeping in read() on fd 0; fd 0 (its standard input) is terminal /dev/pts/"
        ),
        "{stdin}"
    );
    let socket = failure("socket-blocker");
    let on_socket = regex::Regex::new(
        r"sleeping in read\(\) on fd (\d+); fd \d+ is TCP 127\.0\.0\.1:\d+ ↔ 127\.0\.0\.1:\d+ ESTABLISHED",
    )
    .unwrap();
    assert!(on_socket.is_match(&socket), "{socket}");
    assert!(!socket.contains("standard input"), "{socket}");
}
