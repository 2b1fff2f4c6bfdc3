//! Benchmark: grade N copies of the example submission with the Lab 3 suite
//! at -j 1 and -j 2, and print students per minute and socklab's overhead
//! per scenario.
//!
//! Overhead per scenario = the scenario's wall time minus the time its checks
//! spent waiting on the submission's programs (their replies, output,
//! exits): sandbox set-up, spawning, fixtures, teardown and bookkeeping.
//! Deliberate waits in the suite (e.g. 1 s of expected silence) count as
//! program time.
//!
//! `cargo bench -p socklab --bench grade_throughput` (BENCH_STUDENTS=N, default 6).

use std::path::Path;
use std::time::Instant;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn main() {
    let students: usize = std::env::var("BENCH_STUDENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(6);
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let class = tempfile::tempdir().unwrap();
    for i in 0..students {
        copy_dir(
            &repo.join("examples/submissions/good"),
            &class.path().join(format!("student{i:03}")),
        );
    }
    println!("grading {students} copies of examples/submissions/good with scenarios/lab3");
    println!(
        "{:>4}  {:>10}  {:>16}  {:>22}  {:>10}",
        "-j", "wall (s)", "students/minute", "overhead/scenario (ms)", "scenarios"
    );
    for jobs in [1, 2] {
        let out = tempfile::tempdir().unwrap();
        let started = Instant::now();
        let status = std::process::Command::new(env!("CARGO_BIN_EXE_socklab"))
            .arg("grade")
            .arg(repo.join("scenarios/lab3/lab.yaml"))
            .arg("--submissions")
            .arg(class.path())
            .arg("--out")
            .arg(out.path())
            .args(["-j", &jobs.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        let wall = started.elapsed().as_secs_f64();
        assert!(status.success());
        let mut overheads = Vec::new();
        for entry in std::fs::read_dir(out.path().join("students"))
            .unwrap()
            .flatten()
        {
            let text = std::fs::read_to_string(entry.path().join("report.json")).unwrap();
            let report: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(
                report["score"], report["max_score"],
                "the example must pass"
            );
            for scenario in report["scenarios"].as_array().unwrap() {
                let total = scenario["duration_secs"].as_f64().unwrap();
                let waited: f64 = scenario["checks"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c["duration_secs"].as_f64().unwrap())
                    .sum();
                overheads.push((total - waited).max(0.0));
            }
        }
        overheads.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let mean = overheads.iter().sum::<f64>() / overheads.len() as f64;
        let median = overheads[overheads.len() / 2];
        println!(
            "{jobs:>4}  {wall:>10.1}  {:>16.1}  {:>22}  {:>10}",
            students as f64 / wall * 60.0,
            format!("mean {:.0}, median {:.0}", mean * 1000.0, median * 1000.0),
            overheads.len()
        );
    }
}
