//! Hostile student code is graded, never obeyed: a fork bomb, an output
//! spewer, a memory hog, a spinning hang, a client that leaves traps where
//! its copies should be (a FIFO, links to /etc/shadow and /dev/zero) and a
//! neighbour that attacks the other students of its run are graded in one
//! batch with the good submission and a victim (the good one with a marker
//! in its sources), whose full marks must not change, and each is reported
//! for what it is. The fixtures are laid out over their base; their specs
//! (`must_hold`) say in words what the assertions here check. The same run
//! measures the students' results folders against their size targets.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

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

/// Every file under `dir` (its subfolders too, e.g. `packets/`), by its
/// path relative to `dir`, with its size.
fn files_under(dir: &Path) -> Vec<(String, PathBuf, u64)> {
    let mut files = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let entry = entry.unwrap();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                folders.push(entry.path());
            } else {
                let relative = entry.path().strip_prefix(dir).unwrap().to_path_buf();
                let len = entry.metadata().unwrap().len();
                files.push((relative.to_string_lossy().into_owned(), entry.path(), len));
            }
        }
    }
    files.sort();
    files
}

/// Bytes of every file in a student's results folder, and the folder's total.
fn folder_sizes(out: &Path, name: &str) -> (Vec<(String, u64)>, u64) {
    let files: Vec<(String, u64)> = files_under(&out.join("students").join(name))
        .into_iter()
        .map(|(relative, _, len)| (relative, len))
        .collect();
    let total = files.iter().map(|(_, n)| n).sum();
    (files, total)
}

/// Every file of a student's results folder (packet captures too), as text.
fn everything_reported(out: &Path, name: &str) -> String {
    let mut all = String::new();
    for (_, path, _) in files_under(&out.join("students").join(name)) {
        all.push_str(&String::from_utf8_lossy(&std::fs::read(path).unwrap()));
    }
    all
}

/// Written into every source of the victim: seen anywhere in another
/// student's report, the victim was read.
const VICTIM_MARKER: &str = "VICTIM-SECRET-7f3a9c";
const VICTIM: &str = "victim-kim";
/// The file the neighbour leaves in /run/lock.
const LOCK_FILE: &str = "/run/lock/hostile-neighbour.lock";

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
        "hostile-destinations",
        "hostile-neighbour",
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
    let victim = class.path().join(VICTIM);
    copy_dir(&good(), &victim);
    for entry in std::fs::read_dir(&victim).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "c") {
            let mut source = std::fs::read_to_string(&path).unwrap();
            source.push_str(&format!("/* {VICTIM_MARKER} */\n"));
            std::fs::write(&path, source).unwrap();
        }
    }
    // A leftover of an earlier, unprotected run would hide a leak.
    let _ = std::fs::remove_file(LOCK_FILE);
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

    let victim = report(VICTIM);
    assert_eq!(
        victim["score"],
        victim["max_score"],
        "the attacked victim keeps full marks:\n{}",
        messages(&victim)
    );
    let neighbour = everything_reported(out.path(), "hostile-neighbour");
    assert!(
        neighbour.contains("SEEN "),
        "the neighbour's attack ran and its output is in its report"
    );
    if let Some(at) = neighbour.find("SEEN ") {
        let seen: String = neighbour[at..].chars().take(80).collect();
        println!("the neighbour reports: {seen}");
    }
    // Its walks met folders closed to it: the other students' were there.
    let refused: u64 = neighbour
        .match_indices("CLOSED ")
        .filter_map(|(at, _)| {
            let digits: String = neighbour[at + 7..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().ok()
        })
        .max()
        .unwrap_or(0);
    assert!(
        refused > 0,
        "the neighbour's walk met no folder of another student"
    );
    for leak in [VICTIM_MARKER, VICTIM, "STOLEN", "REWROTE"] {
        assert!(
            !neighbour.contains(leak),
            "the neighbour's report shows nothing of the others ({leak:?} found)"
        );
    }
    assert!(
        !Path::new(LOCK_FILE).exists(),
        "a program's /run/lock is its own, never the machine's"
    );
    let neighbour_report = report("hostile-neighbour");
    let observed: String = neighbour_report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["checks"].as_array().unwrap())
        .filter_map(|c| c["observed"].as_str())
        .collect();
    assert!(
        observed.contains("/run/lock/hostile-neighbour.lock"),
        "what a program left in its /run/lock is reported: {observed}"
    );

    let traps = report("hostile-destinations");
    let trapped = messages(&traps);
    assert!(trapped.contains("a FIFO (named pipe)"), "{trapped}");
    assert!(
        trapped
            .matches("a link to outside the program's folder")
            .count()
            >= 2,
        "{trapped}"
    );
    for scenario in traps["scenarios"].as_array().unwrap() {
        assert!(
            scenario["duration_secs"].as_f64().unwrap() < 60.0,
            "a trap costs no more than the scenario's deadline: {scenario}"
        );
    }
    let shown = everything_reported(out.path(), "hostile-destinations");
    if let Ok(shadow) = std::fs::read("/etc/shadow") {
        use sha2::Digest;
        let digest: String = sha2::Sha256::digest(&shadow)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert!(
            !shown.contains(&digest[..16]),
            "nothing of /etc/shadow is in the report"
        );
        assert!(
            !shown.contains(&format!("{} bytes", shadow.len())),
            "not even its size"
        );
        assert!(!shown.contains("root:"), "nor its lines");
    }

    // Size targets: a full-marks student's folder, a spewer's, any
    // gradescope.json. The reports (the folder without packets/) were held
    // to 300 KB before the packet supplement and the scenarios issue 10
    // added; measured at this commit: about 380 KB without capture, 590 KB
    // with the ladders (one per passed scenario that examines packets or
    // observes them all held, all of a failed one's). The capture files are
    // capped on their own: about 2.9 MB for good, most of it the 1 MB copy
    // delivered in whole 260-byte segments, which the capture keeps.
    for (name, most_reports, most_captures) in [
        ("good", 800_000, 4_000_000),
        ("hostile-spewer", 2_000_000, 4_000_000),
    ] {
        let (files, _) = folder_sizes(out.path(), name);
        let (captures, reports): (Vec<_>, Vec<_>) =
            files.iter().partition(|(f, _)| f.starts_with("packets/"));
        let reports: u64 = reports.iter().map(|(_, n)| n).sum();
        let captures: u64 = captures.iter().map(|(_, n)| n).sum();
        println!("{name}: reports {reports} bytes, captures {captures} bytes: {files:?}");
        assert!(
            reports <= most_reports,
            "{name}'s reports are {reports} bytes, over {most_reports}"
        );
        assert!(
            captures <= most_captures,
            "{name}'s packet captures are {captures} bytes, over {most_captures}"
        );
    }
    for name in hostile.iter().chain(&["good", VICTIM]) {
        let (files, _) = folder_sizes(out.path(), name);
        let gradescope = files.iter().find(|(f, _)| f == "gradescope.json").unwrap();
        assert!(gradescope.1 <= 1_000_000, "{name}: {gradescope:?}");
    }

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
    assert!(
        messages(&spewer).contains("output limit exceeded (1048576 bytes); socklab stopped it"),
        "the spewer is stopped at the limit, and the failure says so:\n{}",
        messages(&spewer)
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

/// A spewer costs its neighbours nothing beyond a correct student's share:
/// the good submission is graded beside a copy of itself, then beside the
/// spewer (same `-j`, same machine, one test), and its grading time beside
/// the spewer stays within 1.5× of beside the copy. The machine is shared
/// and noisy, so a few seconds of slack are added; the figures are printed.
#[test]
fn a_spewer_does_not_slow_its_neighbour() {
    let graded_beside = |neighbour: &str| -> (f64, serde_json::Value) {
        let class = tempfile::tempdir().unwrap();
        let out = tempfile::tempdir().unwrap();
        copy_dir(&good(), &class.path().join("good"));
        if neighbour == "twin" {
            copy_dir(&good(), &class.path().join("twin"));
        } else {
            lay_out_fixture(neighbour, class.path());
        }
        grade_class(&lab3(), class.path(), out.path(), &["-j", "2"], &[]);
        let good = student_report(out.path(), "good");
        assert_eq!(good["score"], good["max_score"], "{}", messages(&good));
        let other_name = if neighbour == "twin" {
            "twin"
        } else {
            neighbour
        };
        (
            good["duration_secs"].as_f64().unwrap(),
            student_report(out.path(), other_name),
        )
    };
    let (beside_twin, _) = graded_beside("twin");
    let (beside_spewer, spewer) = graded_beside("hostile-spewer");
    let longest_spewer_scenario = spewer["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["duration_secs"].as_f64().unwrap())
        .fold(0.0, f64::max);
    println!(
        "good graded beside a copy of itself: {beside_twin:.1} s; beside the spewer: \
         {beside_spewer:.1} s ({:.2}x); the spewer's longest scenario: {longest_spewer_scenario:.1} s",
        beside_spewer / beside_twin
    );
    assert!(
        beside_spewer <= 1.5 * beside_twin + 5.0,
        "beside the spewer {beside_spewer:.1} s, beside a copy {beside_twin:.1} s"
    );
}
