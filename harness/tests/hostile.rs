//! Hostile student code is graded, never obeyed: a fork bomb, an output
//! spewer, a memory hog and a spinning hang are graded in one batch with the
//! good submission, whose full marks must not change, and each is reported
//! for what it is. The fixtures are laid out over their base; their specs
//! (`must_hold`) say in words what the assertions here check.

mod common;

use std::collections::BTreeSet;

use common::*;

fn messages(report: &serde_json::Value) -> String {
    let mut all = String::new();
    for scenario in report["scenarios"].as_array().unwrap() {
        for check in scenario["checks"].as_array().unwrap() {
            all.push_str(check["message"].as_str().unwrap_or_default());
            all.push('\n');
        }
    }
    all
}

#[test]
fn hostile_submissions_do_not_disturb_the_good_one() {
    let class = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    copy_dir(&good(), &class.path().join("good"));
    let hostile = [
        "hostile-forkbomb",
        "hostile-spewer",
        "hostile-memhog",
        "hostile-hang",
    ];
    let specified: BTreeSet<String> = fixture_specs()
        .into_iter()
        .filter(|s| s.is_hostile())
        .map(|s| s.name)
        .collect();
    assert_eq!(
        specified,
        hostile.iter().map(|n| n.to_string()).collect(),
        "every fixture with `must_hold` is graded here, with assertions of its own"
    );
    for name in hostile {
        lay_out_fixture(name, class.path());
    }
    // socklab's working files go here, so the leftover check below looks
    // only at this run's programs (other runs may share the machine).
    let work = tempfile::tempdir().unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(work.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    grade_class(
        &lab3(),
        class.path(),
        out.path(),
        &["-j", "4"],
        &[("TMPDIR", work.path())],
    );
    let report = |name: &str| student_report(out.path(), name);
    let good = report("good");
    assert_eq!(
        good["score"],
        good["max_score"],
        "the good submission keeps full marks:\n{}",
        messages(&good)
    );

    let limited = good["isolation"]["notes"]
        .to_string()
        .contains("pids controller");
    let bomb = report("hostile-forkbomb");
    assert!(bomb["score"].as_f64().unwrap() < 100.0);
    if limited {
        assert!(
            messages(&bomb).contains("a fork bomb was contained"),
            "{}",
            messages(&bomb)
        );
    }

    let spewer = report("hostile-spewer");
    assert!(spewer["score"].as_f64().unwrap() < 100.0);
    let truncated: u64 = spewer["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["transcripts"].as_array().unwrap())
        .map(|t| t["truncated_bytes"].as_u64().unwrap())
        .max()
        .unwrap();
    assert!(
        truncated > 0,
        "the spewer's output beyond the limit is counted and dropped"
    );

    // With a memory cgroup the kernel kills the hog and socklab names the
    // limit; with only RLIMIT_AS its malloc fails and it crashes on NULL.
    let hog = report("hostile-memhog");
    let by_cgroup = good["isolation"]["notes"]
        .to_string()
        .contains("cgroup memory controller");
    let expected = if by_cgroup {
        "more than the memory limit of 512 MiB"
    } else {
        "SIGSEGV"
    };
    assert!(
        messages(&hog).contains(expected),
        "{expected}: {}",
        messages(&hog)
    );

    let hang = report("hostile-hang");
    assert!(
        messages(&hang).contains("still running"),
        "{}",
        messages(&hang)
    );

    // Programs run from socklab's work directory: `<work>/<student>/build/NAME`.
    for program in ["tcpserv", "LotteryServer", "FTServer", "daytimetcpcli"] {
        let left: Vec<_> = processes_mentioning(&format!("build/{program}"))
            .into_iter()
            .filter(|(_, cmdline)| cmdline.contains(&*work.path().to_string_lossy()))
            .collect();
        assert!(
            left.is_empty(),
            "nothing of the students' is left: {left:?}"
        );
    }
}
