//! A student's Makefile is student code: it runs sandboxed like the
//! programs it builds (as the submission's own uid when socklab is root,
//! nothing it starts outlives the build, no reading what that uid may not
//! read, no seeing the machine's processes).

mod common;

use common::*;

#[test]
fn a_hostile_makefile_is_contained() {
    let dir = tempfile::tempdir().unwrap();
    let submission = dir.path().join("student");
    std::fs::create_dir_all(&submission).unwrap();
    let marker = format!("socklab-build-daemon-{}", std::process::id());
    let test_pid = std::process::id();
    std::fs::write(
        submission.join("Makefile"),
        format!(
            "all:\n\
             \t@echo \"build uid: $$(id -u)\"\n\
             \t@cat /etc/shadow > /dev/null 2>&1 && echo 'read /etc/shadow' || echo 'no /etc/shadow'\n\
             \t@setsid sh -c 'while :; do sleep 1; done' {marker} > /dev/null 2>&1 < /dev/null &\n\
             \t@echo started a daemon\n\
             \t@test -e /proc/{test_pid} && echo 'sees the machine' || echo 'sees its own processes only'\n"
        ),
    )
    .unwrap();
    let (_, report) = run_json(
        &[
            lab3().to_str().unwrap(),
            "--only",
            "lottery/server-generates",
        ],
        &submission,
    );
    let output = report["build"]["output"].as_str().unwrap_or_default();
    assert!(output.contains("started a daemon"), "{report:#}");
    // SAFETY: geteuid has no side effects.
    if unsafe { libc::geteuid() } == 0 {
        let uid: u32 = output
            .lines()
            .find_map(|l| l.strip_prefix("build uid: "))
            .and_then(|uid| uid.trim().parse().ok())
            .unwrap_or_else(|| panic!("{output}"));
        assert!(
            (2_000_000_000..2_000_004_096).contains(&uid),
            "a uid of the reserved range: {output}"
        );
        assert!(output.contains("no /etc/shadow"), "{output}");
        if namespaces_available() {
            assert!(output.contains("sees its own processes only"), "{output}");
        }
    }
    // The daemon went with the build's sandbox; at the latest, with socklab.
    assert_none_left(&marker, "the build's daemon outlived socklab");
}
