//! Narrowing a run with `--only` builds only the programs the selected
//! scenarios start (`build.rs`): the others are reported as skipped, not as
//! failures, and the score is not touched by them.

mod common;

use common::*;

#[test]
fn only_the_programs_the_selected_scenarios_start_are_built() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&good(), dir.path());
    let (out, report) = run_json(
        &[
            lab3().to_str().unwrap(),
            "--only",
            "daytime/server-sends-time-and-closes",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    let programs = report["build"]["programs"].as_array().expect("programs");
    let status_of = |name: &str| {
        programs
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{name} is in the build report: {programs:#?}"))["status"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(status_of("daytimetcpsrv"), "built");
    for other in ["daytimetcpcli", "tcpserv", "FTServer", "LotteryClient"] {
        assert_eq!(status_of(other), "skipped", "{other}");
    }
    let skipped = programs.iter().find(|p| p["name"] == "FTServer").unwrap();
    assert!(
        skipped["detail"]
            .as_str()
            .is_some_and(|d| d.contains("no selected scenario starts it")),
        "{skipped}"
    );
    assert!(
        !dir.path().join("FTServer").exists(),
        "the submission's own folder is left as it was"
    );
}
