//! Benchmark: can a course grade a class of 300 in five minutes on two
//! cores? Prints, with the machine's load average before and after:
//!
//! 1. **suite**: the whole Lab 3 suite's wall time on the correct submission
//!    (`examples/submissions/good`) with `socklab run -j 2`, build included
//!    (target ≤ 2 s), median of `BENCH_ROUNDS` runs (default 3);
//! 2. **class**: students a minute with `socklab grade` at the default `-j`
//!    on a class laid out from `tests/fixtures/submissions` in their
//!    proportions: the correct submission once and every fixture once
//!    (defective and hostile alike), repeated to `BENCH_STUDENTS` (default:
//!    one of each); target ≥ 60 a minute (300 in five minutes); then
//!    again with `--no-shared-builds`, as the fixtures share most of their
//!    files with the correct submission, far more than a real class. With
//!    `BENCH_JOBS=2,4,8` it grades the class at each of those `-j` as well,
//!    which is how the default was chosen (`docs/deciding.md`);
//! 3. **check50**: the ratio of CS50's check50 running the port in
//!    `/work/shared/bench/check50_lab3` (or `BENCH_CHECK50_SLUG`) to socklab
//!    running the same nine scenarios with `--only`, build included on both
//!    sides, in alternation, `BENCH_PAIRS` pairs (default 3), median of the
//!    per-pair ratios (target ≥ 10×), socklab at `-j 2` and at its default
//!    `-j`, each right after the same check50 run. check50 is the one at
//!    `BENCH_CHECK50` (default `/tmp/c50/bin/check50`; install it in a venv
//!    under /tmp, its README says how); without it this part says so and is
//!    left out;
//! 4. **file transfer**: the reference file transfer's speed next to the
//!    `sendfile` anchor, by running `reference/benches/ft_throughput.rs`
//!    (`cargo bench -p socklab-reference --bench ft_throughput`; set
//!    `BENCH_FT=0` to leave it out).
//!
//! `cargo bench -p socklab --bench class_speed`
//!
//! `BENCH_LAY_OUT=DIR` only lays the class out in `DIR` (which must not
//! exist) and stops, to grade or profile that class by hand.

#[allow(dead_code)]
#[path = "../tests/common/fixtures.rs"]
mod fixtures;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use fixtures::FixtureSet;

/// The nine scenarios the check50 port has (its README).
const CHECK50_SCENARIOS: [&str; 9] = [
    "daytime/server-sends-time-and-closes",
    "echo/short-line[client=submission,server=submission]",
    "echo/long-stream",
    "echo/two-clients-at-once",
    "lottery/server-generates-six-distinct",
    "lottery/server-full-and-list",
    "lottery/session[client=submission,server=submission]",
    "ft/server-sends-segments",
    "ft/client-writes-exact-copy",
];

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|e| format!("unknown ({e})"))
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn socklab() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_socklab"));
    command.stdout(Stdio::null()).stderr(Stdio::null());
    command
}

/// Times one `socklab run` of the lab on `submission`, `only` scenarios
/// when given; seconds, and whether socklab said every check passed.
/// `jobs`: `-j`, or `None` for socklab's default.
fn time_run(repo: &Path, submission: &Path, jobs: Option<usize>, only: &[&str]) -> (f64, bool) {
    let mut command = socklab();
    command
        .arg("run")
        .arg(repo.join("scenarios/lab3/lab.yaml"))
        .arg("--submission")
        .arg(submission);
    if let Some(jobs) = jobs {
        command.args(["-j", &jobs.to_string()]);
    }
    for name in only {
        command.args(["--only", name]);
    }
    let started = Instant::now();
    let status = command.status().expect("socklab runs");
    (started.elapsed().as_secs_f64(), status.success())
}

/// Lays out the class: the correct submission and every fixture, in turn,
/// until there are `students`; the correct students' names, and how many
/// are defective and hostile.
fn lay_out_class(repo: &Path, class: &Path, students: usize) -> (Vec<String>, usize, usize) {
    let set = FixtureSet::of_repo();
    let specs = match set.load_all() {
        Ok(specs) => specs,
        Err(problems) => panic!("the fixtures do not load:\n{problems}"),
    };
    let (mut correct, mut defective, mut hostile) = (Vec::new(), 0, 0);
    let kinds = specs.len() + 1;
    for i in 0..students {
        let name = format!("student{i:03}");
        let dest = class.join(&name);
        match i % kinds {
            0 => {
                fixtures::copy_dir(&repo.join("examples/submissions/good"), &dest)
                    .expect("copy the correct submission");
                correct.push(name);
            }
            k => {
                let spec = &specs[k - 1];
                spec.lay_out(&dest)
                    .unwrap_or_else(|e| panic!("lay out {}: {e}", spec.name));
                if spec.is_hostile() {
                    hostile += 1;
                } else {
                    defective += 1;
                }
            }
        }
    }
    (correct, defective, hostile)
}

/// Grades the class once; seconds, and the students with a report. Says
/// which scenarios a correct student (`correct` names them) did not pass:
/// a decision taken too early would show there first.
fn time_grade(
    repo: &Path,
    class: &Path,
    jobs: Option<usize>,
    extra: &[&str],
    correct: &[String],
) -> (f64, usize) {
    let out = tempfile::tempdir().expect("temp dir");
    let mut command = socklab();
    command
        .arg("grade")
        .arg(repo.join("scenarios/lab3/lab.yaml"))
        .arg("--submissions")
        .arg(class)
        .arg("--out")
        .arg(out.path());
    if let Some(jobs) = jobs {
        command.args(["-j", &jobs.to_string()]);
    }
    command.args(extra);
    let started = Instant::now();
    let status = command.status().expect("socklab grade runs");
    let wall = started.elapsed().as_secs_f64();
    if !status.success() {
        println!("  (socklab grade exited with {status})");
    }
    let mut graded = 0;
    for entry in std::fs::read_dir(out.path().join("students"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let Ok(text) = std::fs::read_to_string(entry.path().join("report.json")) else {
            continue;
        };
        graded += 1;
        let Ok(report) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        let name = report["submission"].as_str().unwrap_or("?");
        if !correct.iter().any(|c| c == name) {
            continue;
        }
        for scenario in report["scenarios"].as_array().into_iter().flatten() {
            let status = scenario["status"].as_str().unwrap_or("?");
            if !matches!(status, "passed" | "observed") {
                println!(
                    "  WARNING: the correct submission {name}: {} {status}",
                    scenario["name"].as_str().unwrap_or("?")
                );
            }
        }
    }
    (wall, graded)
}

fn main() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repo")
        .to_path_buf();
    let good = repo.join("examples/submissions/good");
    let rounds = env_number("BENCH_ROUNDS", 3).max(1);
    let set_size = FixtureSet::of_repo().names().map_or(0, |n| n.len()) + 1;
    let students = env_number("BENCH_STUDENTS", set_size).max(1);
    if let Some(dir) = std::env::var_os("BENCH_LAY_OUT") {
        let dir = PathBuf::from(dir);
        assert!(
            !dir.exists(),
            "BENCH_LAY_OUT={}: that already exists; name a new folder",
            dir.display()
        );
        let (correct, defective, hostile) = lay_out_class(&repo, &dir, students);
        println!(
            "laid out {students} students in {} ({} correct, {defective} defective, {hostile} hostile)",
            dir.display(),
            correct.len()
        );
        return;
    }
    println!(
        "class_speed on {} cores; load average {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_average()
    );

    // 1. The suite on the correct submission.
    let mut walls = Vec::new();
    let mut all_passed = true;
    for _ in 0..rounds {
        let copy = tempfile::tempdir().expect("temp dir");
        fixtures::copy_dir(&good, copy.path()).expect("copy");
        let (wall, passed) = time_run(&repo, copy.path(), Some(2), &[]);
        all_passed &= passed;
        walls.push(wall);
    }
    let suite = median(&mut walls);
    println!(
        "\nsuite: whole Lab 3 suite on the correct submission, -j 2, build included: median {suite:.2} s of {rounds} (min {:.2}, max {:.2}){}  [target ≤ 2 s]",
        walls[0],
        walls[walls.len() - 1],
        if all_passed {
            ""
        } else {
            "; WARNING: not every check passed"
        }
    );

    // 2. The class.
    let class = tempfile::tempdir().expect("temp dir");
    let (correct, defective, hostile) = lay_out_class(&repo, class.path(), students);
    println!(
        "\nclass: {students} students ({} correct, {defective} defective, {hostile} hostile); load average {}",
        correct.len(),
        load_average()
    );
    let (wall, graded) = time_grade(&repo, class.path(), None, &[], &correct);
    let per_minute = graded as f64 / wall * 60.0;
    println!(
        "  default -j: {graded} graded in {wall:.1} s = {per_minute:.1} students/minute; 300 students ≈ {:.1} min  [target ≥ 60/min]",
        300.0 / per_minute
    );
    // The fixtures share most of their files with the correct submission,
    // far more than a real class does: the same class with nothing shared.
    let (wall, graded) = time_grade(&repo, class.path(), None, &["--no-shared-builds"], &correct);
    println!(
        "  default -j, --no-shared-builds (every student compiles all its programs): {graded} graded in {wall:.1} s = {:.1} students/minute",
        graded as f64 / wall * 60.0
    );
    if let Ok(list) = std::env::var("BENCH_JOBS") {
        for jobs in list
            .split(',')
            .filter_map(|j| j.trim().parse::<usize>().ok())
        {
            let (wall, graded) = time_grade(&repo, class.path(), Some(jobs), &[], &correct);
            println!(
                "  -j {jobs}: {graded} graded in {wall:.1} s = {:.1} students/minute (load average {})",
                graded as f64 / wall * 60.0,
                load_average()
            );
        }
    }

    // 3. check50 on the same nine scenarios.
    let check50 = PathBuf::from(
        std::env::var("BENCH_CHECK50").unwrap_or_else(|_| "/tmp/c50/bin/check50".to_string()),
    );
    let slug = PathBuf::from(
        std::env::var("BENCH_CHECK50_SLUG")
            .unwrap_or_else(|_| "/work/shared/bench/check50_lab3".to_string()),
    );
    if check50.is_file() && slug.is_dir() {
        let pairs = env_number("BENCH_PAIRS", 3).max(1);
        // socklab at `-j 2` and at its default `-j` (what a user types),
        // each run right after the same check50 run.
        let (mut ratios, mut default_ratios) = (Vec::new(), Vec::new());
        let (mut c50_times, mut our_times, mut default_times) =
            (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..pairs {
            let copy = tempfile::tempdir().expect("temp dir");
            fixtures::copy_dir(&good, copy.path()).expect("copy");
            let json = copy.path().join("check50.json");
            let started = Instant::now();
            let status = Command::new(&check50)
                .arg("--dev")
                .arg(&slug)
                .args(["-o", "json", "--output-file"])
                .arg(&json)
                .current_dir(copy.path())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .expect("check50 runs");
            let theirs = started.elapsed().as_secs_f64();
            if !status.success() {
                println!("  (check50 exited with {status})");
            }
            let copy = tempfile::tempdir().expect("temp dir");
            fixtures::copy_dir(&good, copy.path()).expect("copy");
            let (ours, _) = time_run(&repo, copy.path(), Some(2), &CHECK50_SCENARIOS);
            let copy = tempfile::tempdir().expect("temp dir");
            fixtures::copy_dir(&good, copy.path()).expect("copy");
            let (default, _) = time_run(&repo, copy.path(), None, &CHECK50_SCENARIOS);
            c50_times.push(theirs);
            our_times.push(ours);
            default_times.push(default);
            ratios.push(theirs / ours);
            default_ratios.push(theirs / default);
        }
        println!(
            "\ncheck50: the same 9 scenarios, build included: check50 median {:.2} s; socklab -j 2 median {:.2} s, ratio median {:.1}×; socklab at its default -j median {:.2} s, ratio median {:.1}×; over {pairs} pairs  [target ≥ 10×]; load average {}",
            median(&mut c50_times),
            median(&mut our_times),
            median(&mut ratios),
            median(&mut default_times),
            median(&mut default_ratios),
            load_average()
        );
    } else {
        println!(
            "\ncheck50: left out ({} or {} missing; set BENCH_CHECK50 and BENCH_CHECK50_SLUG)",
            check50.display(),
            slug.display()
        );
    }

    // 4. The reference file transfer against the sendfile anchor.
    if std::env::var("BENCH_FT").as_deref() != Ok("0") {
        println!(
            "\nfile transfer (cargo bench -p socklab-reference --bench ft_throughput); load average {}",
            load_average()
        );
        let status = Command::new(env!("CARGO"))
            .args([
                "bench",
                "-q",
                "-p",
                "socklab-reference",
                "--bench",
                "ft_throughput",
            ])
            .current_dir(&repo)
            .status();
        if !matches!(status, Ok(s) if s.success()) {
            println!("  (the file-transfer bench did not run: {status:?})");
        }
    }
    println!("\nload average at the end {}", load_average());
}
