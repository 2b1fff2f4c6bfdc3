//! Benchmark: what a scenario's sandbox costs to set up and tear down, part
//! by part, so that the parts worth cutting can be told apart. Prints the
//! median and the 90th percentile of `BENCH_ROUNDS` (default 40) rounds,
//! in milliseconds, of:
//!
//! - the per-scenario cgroup (pids, memory and the CPU quota), made and removed;
//! - a one-host sandbox without a cgroup (pid namespace with its init,
//!   network namespace with `lo` up and a `sock_diag` socket inside, mount
//!   namespace with private scratch directories), made and torn down;
//! - the same with the cgroup, as a scenario gets it;
//! - a two-host sandbox (two network namespaces linked through a bridge by
//!   `ip`), where the machine can link hosts;
//! - a program start (`true`) in a scenario's sandbox with its cgroup, the
//!   starts 30 ms apart (more than an RCU grace period: see
//!   `sandbox/warmth.rs`), until `spawn` returns; run once more with
//!   `SOCKLAB_CGROUP_WARMTH=off` to see what the warmth saves.
//!
//! With the machine's load average. Needs root (namespaces, cgroups); says
//! so and stops otherwise.
//!
//! `cargo bench -p socklab --bench sandbox_parts`

use std::time::{Duration, Instant};

use socklab::sandbox::{self, IsolationLevel, IsolationRequest, ProcessLimit, Sandbox};

fn rounds() -> usize {
    std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40)
        .max(1)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|e| format!("unknown ({e})"))
}

/// Median and 90th percentile, in milliseconds.
fn summary(mut times: Vec<Duration>) -> String {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let median = times[times.len() / 2];
    let p90 = times[(times.len() * 9 / 10).min(times.len() - 1)];
    format!("{:>7.2} {:>7.2}", ms(median), ms(p90))
}

/// Times `make` and then dropping what it made, `rounds` times.
fn measure<T>(label: &str, rounds: usize, mut make: impl FnMut() -> std::io::Result<T>) {
    let (mut made, mut dropped) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let started = Instant::now();
        let thing = match make() {
            Ok(thing) => thing,
            Err(e) => {
                println!("{label:<44} cannot be made here: {e}");
                return;
            }
        };
        made.push(started.elapsed());
        let started = Instant::now();
        drop(thing);
        dropped.push(started.elapsed());
    }
    println!("{label:<44} {}   {}", summary(made), summary(dropped));
}

fn main() {
    let userns = sandbox::userns::UserNamespace::default();
    let capabilities = sandbox::capabilities(IsolationRequest::Auto, &userns);
    if capabilities.level != IsolationLevel::Namespaces {
        println!(
            "sandbox_parts: no namespaces here ({}); nothing to measure",
            capabilities.notes.join("; ")
        );
        return;
    }
    let rounds = rounds();
    println!(
        "sandbox_parts: {rounds} rounds; load average {}",
        load_average()
    );
    println!(
        "{:<44} {:>15}   {:>15}",
        "part", "set-up ms", "tear-down ms"
    );
    println!(
        "{:<44} {:>7} {:>7}   {:>7} {:>7}",
        "", "median", "p90", "median", "p90"
    );
    let memory = Some(512 << 20);
    if let Some(root) = &capabilities.cgroups {
        measure("cgroup (pids, memory, CPU quota)", rounds, || {
            ProcessLimit::create(root, 64, memory, Some(Duration::from_millis(250)))
        });
    } else {
        println!("{:<44} no cgroups here", "cgroup");
    }
    measure("one host, no cgroup", rounds, || {
        Sandbox::create(IsolationLevel::Namespaces, &["local".into()], None, &[])
    });
    if let Some(root) = &capabilities.cgroups {
        measure("one host with its cgroup (a scenario's)", rounds, || {
            Sandbox::create(
                IsolationLevel::Namespaces,
                &["local".into()],
                Some((root, 64, memory, Some(Duration::from_millis(250)))),
                &[],
            )
        });
    }
    if capabilities.multi_host {
        measure("two linked hosts, no cgroup", rounds.div_ceil(4), || {
            Sandbox::create(
                IsolationLevel::Namespaces,
                &["a".into(), "b".into()],
                None,
                &[],
            )
        });
    }
    if let Some(root) = &capabilities.cgroups {
        measure_starts(root, rounds);
    }
    println!("load average at the end {}", load_average());
}

/// Program starts in a scenario's sandbox, 30 ms apart; the tear-down
/// column is the wait for the program's exit.
fn measure_starts(root: &sandbox::CgroupRoot, rounds: usize) {
    let sandbox = match Sandbox::create(
        IsolationLevel::Namespaces,
        &["local".into()],
        Some((root, 64, Some(512 << 20), Some(Duration::from_millis(250)))),
        &[],
    ) {
        Ok(sandbox) => sandbox,
        Err(e) => {
            println!("program start: no sandbox here: {e}");
            return;
        }
    };
    let entry = sandbox.entry(None).expect("the sandbox's entry");
    let warmth = match std::env::var(sandbox::WARMTH_ENV) {
        Ok(v) if v == "off" => "cgroup warmth off",
        _ => "cgroup warmth on",
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (mut starts, mut ends) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        std::thread::sleep(Duration::from_millis(30));
        let mut command = sandbox::spawn::Command::new("true");
        let fds = entry.cgroup_procs_fds();
        let started = Instant::now();
        let _in_runtime = runtime.enter();
        let spawned = entry.spawn(&mut command, &mut || {
            for fd in fds.iter().flatten() {
                sandbox::join_in_child(*fd)?;
            }
            Ok(())
        });
        starts.push(started.elapsed());
        let mut spawned = match spawned {
            Ok(spawned) => spawned,
            Err(e) => {
                println!("program start: cannot start `true` here: {e}");
                return;
            }
        };
        let started = Instant::now();
        let _ = runtime.block_on(spawned.child.wait());
        ends.push(started.elapsed());
    }
    println!(
        "{:<44} {}   {}",
        format!("program start, 30 ms apart ({warmth})"),
        summary(starts),
        summary(ends)
    );
}
