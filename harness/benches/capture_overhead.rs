//! Benchmark: what capturing every scenario's packets costs a real run.
//!
//! Runs the whole Lab 3 suite on the example submission (`socklab run
//! scenarios/lab3/lab.yaml --submission examples/submissions/good`) with
//! capture (the default) and with `--no-capture`, alternating, BENCH_RUNS
//! pairs (default 5), and prints every run, the medians of the wall time
//! and of the scenarios' summed durations, the overhead of capturing, and
//! the load average before and after (the machine is shared: noisy).
//!
//! Without network namespaces nothing is captured and the benchmark says
//! so instead of measuring.
//!
//! `cargo bench -p socklab --bench capture_overhead` (BENCH_RUNS=N, BENCH_JOBS=J, default 2).

use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// One run of the suite: wall time, summed scenario durations (s), score.
struct Run {
    wall: f64,
    scenarios: f64,
    score: f64,
    captured: bool,
}

fn run(repo: &Path, jobs: &str, capture: bool) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_socklab"));
    command
        .arg("run")
        .arg(repo.join("scenarios/lab3/lab.yaml"))
        .arg("--submission")
        .arg(repo.join("examples/submissions/good"))
        .args(["-j", jobs, "--format", "json"]);
    if !capture {
        command.arg("--no-capture");
    }
    let started = Instant::now();
    let out = command.output().expect("socklab runs");
    let wall = started.elapsed().as_secs_f64();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no report ({e}): {}", String::from_utf8_lossy(&out.stderr)));
    let scenarios = report["scenarios"].as_array().unwrap();
    Run {
        wall,
        scenarios: scenarios
            .iter()
            .map(|s| s["duration_secs"].as_f64().unwrap_or(0.0))
            .sum(),
        score: report["score"].as_f64().unwrap_or(0.0),
        captured: scenarios.iter().any(|s| s.get("packets").is_some()),
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_string())
}

fn main() {
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let jobs = std::env::var("BENCH_JOBS").unwrap_or_else(|_| "2".to_string());
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    println!("load average before: {}", load());
    // One run each first, not counted: builds and caches warm up.
    let first = run(repo, &jobs, true);
    if !first.captured {
        println!("no network namespaces here: nothing is captured, nothing to measure");
        return;
    }
    run(repo, &jobs, false);
    let (mut with, mut without) = (Vec::new(), Vec::new());
    for i in 0..runs {
        // Alternate which goes first, so a drift in load hits both alike.
        let order = if i % 2 == 0 {
            [true, false]
        } else {
            [false, true]
        };
        for capture in order {
            let r = run(repo, &jobs, capture);
            println!(
                "run {:>2} {:<15} wall {:>6.2} s  scenarios {:>7.2} s  score {}",
                i + 1,
                if capture { "with capture" } else { "without" },
                r.wall,
                r.scenarios,
                r.score
            );
            if capture { &mut with } else { &mut without }.push(r);
        }
    }
    let wall = |runs: &[Run]| median(runs.iter().map(|r| r.wall).collect());
    let scenarios = |runs: &[Run]| median(runs.iter().map(|r| r.scenarios).collect());
    let (w1, w0) = (wall(&with), wall(&without));
    let (s1, s0) = (scenarios(&with), scenarios(&without));
    println!(
        "\nmedian of {runs} runs each (-j {jobs}):\n  wall time:           {w0:.2} s without, {w1:.2} s with capture: {:+.1}%\n  scenarios' durations: {s0:.2} s without, {s1:.2} s with capture: {:+.1}%",
        (w1 / w0 - 1.0) * 100.0,
        (s1 / s0 - 1.0) * 100.0
    );
    if with.iter().chain(&without).any(|r| r.score < 100.0) {
        println!(
            "  (some run did not score 100: a timing-sensitive scenario failed on the loaded machine)"
        );
    }
    println!("load average after: {}", load());
}
