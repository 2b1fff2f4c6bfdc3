//! Benchmark: grade N copies of the example submission with the Lab 3 suite
//! at -j 1 and -j 2, and print students per minute and, per scenario, the
//! mean wall time, the mean time spent on the programs themselves and the
//! mean overhead beyond it.
//!
//! Overhead of a scenario run = its wall time minus the time its checks
//! spent waiting on the submission's programs (their replies, output,
//! exits): sandbox set-up, spawning, fixtures, teardown and bookkeeping.
//! Deliberate waits in the suite (e.g. 1 s of expected silence) count as
//! program time.
//!
//! The example scores full marks on an idle machine. On a loaded one a
//! timing-sensitive scenario can fail: the benchmark then prints a warning
//! naming the scenarios that did not pass (their figures are still in the
//! table) instead of stopping.
//!
//! `cargo bench -p socklab --bench grade_throughput` (BENCH_STUDENTS=N, default 6).

use std::collections::BTreeMap;
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

/// Sums over the runs of one scenario.
#[derive(Default)]
struct Runs {
    count: usize,
    wall: f64,
    program: f64,
    /// Runs that did not pass, by status (`failed`, `skipped`, ...).
    not_passed: BTreeMap<String, usize>,
}

impl Runs {
    fn mean_ms(&self, total: f64) -> f64 {
        total / self.count.max(1) as f64 * 1000.0
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
    let mut throughput = Vec::new();
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
        if !status.success() {
            println!("\nwarning: at -j {jobs}, socklab grade exited with {status}");
        }
        // Scenario names in suite order, with their runs.
        let mut order: Vec<String> = Vec::new();
        let mut runs: BTreeMap<String, Runs> = BTreeMap::new();
        let mut below_full = 0;
        let mut levels: BTreeMap<String, usize> = BTreeMap::new();
        let mut graded = 0;
        for entry in std::fs::read_dir(out.path().join("students"))
            .into_iter()
            .flatten()
            .flatten()
        {
            let Ok(text) = std::fs::read_to_string(entry.path().join("report.json")) else {
                continue;
            };
            let Ok(report) = serde_json::from_str::<serde_json::Value>(&text) else {
                continue;
            };
            graded += 1;
            if report["score"].as_f64() != report["max_score"].as_f64() {
                below_full += 1;
            }
            let level = report["isolation"]["level"].as_str().unwrap_or("?");
            *levels.entry(level.to_string()).or_default() += 1;
            for scenario in report["scenarios"].as_array().into_iter().flatten() {
                let name = scenario["name"].as_str().unwrap_or("?").to_string();
                let total = scenario["duration_secs"].as_f64().unwrap_or(0.0);
                let waited: f64 = scenario["checks"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|c| c["duration_secs"].as_f64())
                    .sum();
                if !runs.contains_key(&name) {
                    order.push(name.clone());
                }
                let r = runs.entry(name).or_default();
                r.count += 1;
                r.wall += total;
                r.program += waited.min(total);
                let status = scenario["status"].as_str().unwrap_or("?");
                if !matches!(status, "passed" | "observed") {
                    *r.not_passed.entry(status.to_string()).or_default() += 1;
                }
            }
        }
        let per_minute = graded as f64 / wall * 60.0;
        throughput.push((jobs, wall, graded, per_minute));
        let levels: Vec<String> = levels.iter().map(|(l, n)| format!("{l} ×{n}")).collect();
        println!(
            "\n-j {jobs}: {graded} students in {wall:.1} s = {per_minute:.1} students/minute (isolation: {})",
            levels.join(", ")
        );
        let width = order
            .iter()
            .map(|n| n.chars().count())
            .max()
            .unwrap_or(0)
            .max(16);
        println!(
            "{:<width$}  {:>4}  {:>14}  {:>17}  {:>18}",
            "scenario", "runs", "mean wall (ms)", "mean program (ms)", "mean overhead (ms)"
        );
        let (mut all_wall, mut all_program, mut all_count) = (0.0, 0.0, 0);
        for name in &order {
            let r = &runs[name];
            all_wall += r.wall;
            all_program += r.program;
            all_count += r.count;
            println!(
                "{name:<width$}  {:>4}  {:>14.0}  {:>17.0}  {:>18.0}",
                r.count,
                r.mean_ms(r.wall),
                r.mean_ms(r.program),
                r.mean_ms(r.wall - r.program)
            );
        }
        let n = all_count.max(1) as f64;
        println!(
            "{:<width$}  {:>4}  {:>14.0}  {:>17.0}  {:>18.0}",
            "(all scenarios)",
            all_count,
            all_wall / n * 1000.0,
            all_program / n * 1000.0,
            (all_wall - all_program) / n * 1000.0
        );
        let failing: Vec<String> = order
            .iter()
            .filter(|name| !runs[*name].not_passed.is_empty())
            .map(|name| {
                let r = &runs[name];
                let how: Vec<String> = r
                    .not_passed
                    .iter()
                    .map(|(status, k)| format!("{k}/{} {status}", r.count))
                    .collect();
                format!("{name} ({})", how.join(", "))
            })
            .collect();
        if below_full > 0 || !failing.is_empty() || graded != students {
            println!(
                "warning: at -j {jobs}, {below_full} of {graded} graded students (of {students}) are below full marks; the machine may be loaded. Not passed: {}",
                if failing.is_empty() {
                    "none".to_string()
                } else {
                    failing.join("; ")
                }
            );
        }
    }
    println!("\nthroughput");
    println!(
        "{:>4}  {:>10}  {:>8}  {:>16}",
        "-j", "wall (s)", "students", "students/minute"
    );
    for (jobs, wall, graded, per_minute) in throughput {
        println!("{jobs:>4}  {wall:>10.1}  {graded:>8}  {per_minute:>16.1}");
    }
}
