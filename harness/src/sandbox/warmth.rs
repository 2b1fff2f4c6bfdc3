//! Keeping cgroup joins fast while scenarios start programs.
//!
//! Every program socklab starts joins its scenario's cgroups between fork
//! and exec (a write of "0" to `cgroup.procs`). The kernel moves a process
//! between cgroups under one machine-wide lock (`cgroup_threadgroup_rwsem`),
//! and a writer of that lock that finds it idle first waits for an RCU grace
//! period: measured on this 2-core virtual machine, the first join of a
//! program took 7–24 ms, the ones right after it (the program's other
//! hierarchies) 0.05–0.3 ms. The lock stays in its fast-for-writers state
//! for about one grace period after its last writer, so a program started
//! more than a grace period after the previous one always waited: a
//! file-transfer scenario that starts its server eight times, one after the
//! other, spent some 60 ms of its 100 ms there, and every compile paid it
//! too.
//!
//! While anything may start programs (a scenario's cgroup exists), a thread
//! writes "0" to the `cgroup.procs` of the cgroup socklab itself is in,
//! every [`PERIOD`]: a move of socklab into where it already is, which
//! changes nothing but takes the lock as a writer and so keeps it in that
//! state. Joins then take 0.3–0.9 ms (measured the same way). This is what
//! the kernel's `favordynmods` cgroup mount option does for good; where the
//! hierarchy is mounted with it, socklab leaves the lock alone. The price
//! while it warms: a write every 4 ms, and forks and exits on the machine
//! take the lock's slower reading path (what `favordynmods` costs too).
//!
//! Nothing depends on it: if the write fails (socklab cannot write its own
//! cgroup's file), the thread stops and joins wait as before.
//! `SOCKLAB_CGROUP_WARMTH=off` turns it off (`sandbox_parts` benchmark:
//! "a program start" with and without).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::Duration;

/// How often the lock is taken: well inside a grace period (7 ms and more
/// here; joins stayed fast with writes every 8 ms, and missed now and then
/// at 12 ms), with room for a late wake-up on a loaded machine.
pub(super) const PERIOD: Duration = Duration::from_millis(4);

/// A thread that writes "0" to one file every period while someone holds
/// it warm.
pub(super) struct Warmer {
    state: Mutex<State>,
    wake: Condvar,
    /// Whether the thread is between two writes (not waiting for a holder):
    /// what a test looks at.
    warming: AtomicBool,
}

struct State {
    holders: usize,
    /// Gone after a failed write: nothing more is tried.
    file: Option<std::fs::File>,
    started: bool,
}

/// Keeps the warmer going while it lives.
pub(super) struct Warmth {
    warmer: Arc<Warmer>,
}

impl Warmer {
    pub(super) fn new(file: std::fs::File) -> Arc<Warmer> {
        Arc::new(Warmer {
            state: Mutex::new(State {
                holders: 0,
                file: Some(file),
                started: false,
            }),
            wake: Condvar::new(),
            warming: AtomicBool::new(false),
        })
    }

    /// Holds the warmer going until the returned guard is dropped; starts
    /// its thread the first time.
    pub(super) fn hold(self: &Arc<Self>) -> Warmth {
        let mut state = self.lock();
        state.holders += 1;
        if !state.started && state.file.is_some() {
            state.started = true;
            let warmer = Arc::clone(self);
            let spawned = std::thread::Builder::new()
                .name("socklab-cgroup-warm".into())
                .spawn(move || warmer.run());
            if spawned.is_err() {
                state.file = None;
            }
        }
        self.wake.notify_all();
        Warmth {
            warmer: Arc::clone(self),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn run(&self) {
        let mut state = self.lock();
        loop {
            while state.holders == 0 && state.file.is_some() {
                self.warming.store(false, Ordering::SeqCst);
                state = self.wake.wait(state).unwrap_or_else(|e| e.into_inner());
            }
            let Some(file) = state.file.as_mut() else {
                self.warming.store(false, Ordering::SeqCst);
                return;
            };
            self.warming.store(true, Ordering::SeqCst);
            if file.write_all(b"0").is_err() {
                state.file = None;
                continue;
            }
            drop(state);
            std::thread::sleep(PERIOD);
            state = self.lock();
        }
    }

    /// Whether the thread is writing now (held), rather than waiting.
    #[cfg(test)]
    fn is_warming(&self) -> bool {
        self.warming.load(Ordering::SeqCst)
    }
}

impl Drop for Warmth {
    fn drop(&mut self) {
        let mut state = self.warmer.lock();
        state.holders = state.holders.saturating_sub(1);
    }
}

/// The `cgroup.procs` file of the cgroup socklab is in, in the hierarchy
/// mounted at `hierarchy` (a cgroup v1 controller's folder, or the v2
/// root), unless that hierarchy is mounted with `favordynmods`.
pub(super) fn own_procs_file(hierarchy: &Path, version: u8) -> Option<PathBuf> {
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let at = hierarchy.to_str()?;
    let mount = mounts.lines().find(|l| l.split(' ').nth(4) == Some(at))?;
    if mount.contains("favordynmods") {
        return None;
    }
    let controller = hierarchy.file_name()?.to_str()?;
    let own = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let path = own.lines().find_map(|l| {
        let mut parts = l.splitn(3, ':');
        let (id, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        let ours = match version {
            2 => id == "0" && controllers.is_empty(),
            _ => controllers.split(',').any(|c| c == controller),
        };
        ours.then_some(path)
    })?;
    Some(
        hierarchy
            .join(path.trim_start_matches('/'))
            .join("cgroup.procs"),
    )
}

/// Set to `off` to leave the lock alone (each join then waits as the
/// kernel makes it): to compare, or on a machine whose other work should
/// not pay the slower forks.
pub const WARMTH_ENV: &str = "SOCKLAB_CGROUP_WARMTH";

/// The one warmer of this process, on `procs` (the first caller's file:
/// socklab has one cgroup root per run); `None` when [`WARMTH_ENV`] is
/// `off`.
pub(super) fn warmer_for(procs: &Path) -> Option<Arc<Warmer>> {
    static WARMER: OnceLock<Option<Arc<Warmer>>> = OnceLock::new();
    WARMER
        .get_or_init(|| {
            if std::env::var(WARMTH_ENV).is_ok_and(|v| v == "off") {
                return None;
            }
            std::fs::OpenOptions::new()
                .write(true)
                .open(procs)
                .ok()
                .map(Warmer::new)
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn written(path: &Path) -> u64 {
        std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
    }

    fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !done() {
            assert!(Instant::now() < deadline, "timed out waiting until {what}");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// The warmer writes while it is held (by two holders, until the last
    /// lets go), then waits without writing, and starts again with the next
    /// holder. (A plain file stands in for `cgroup.procs`: the bytes
    /// written are the writes.)
    #[test]
    fn writes_only_while_someone_holds_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("procs");
        let file = std::fs::File::create(&path).expect("file");
        let warmer = Warmer::new(file);
        assert!(!warmer.is_warming());
        assert_eq!(written(&path), 0, "nothing is written before a holder");

        let first = warmer.hold();
        let second = warmer.hold();
        wait_until("the warmer has written three times", || written(&path) >= 3);
        drop(first);
        let now = written(&path);
        wait_until("the warmer writes on for the second holder", || {
            written(&path) > now
        });
        drop(second);
        wait_until("the warmer waits with no holder", || !warmer.is_warming());
        let stopped = written(&path);
        // The thread is parked on the condition variable: only `hold`
        // wakes it, so nothing more can be written.
        assert!(!warmer.is_warming());
        let third = warmer.hold();
        wait_until("the warmer writes again for a new holder", || {
            written(&path) > stopped
        });
        drop(third);
        assert!(
            std::fs::read(&path)
                .expect("read")
                .iter()
                .all(|b| *b == b'0'),
            "only \"0\" is written (a move into the cgroup the process is in)"
        );
    }

    /// A write that fails (here, to a file opened read-only) stops the
    /// thread for good; holding it again does not restart it.
    #[test]
    fn a_failed_write_stops_the_warmer() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("procs");
        std::fs::write(&path, "").expect("file");
        let warmer = Warmer::new(std::fs::File::open(&path).expect("open read-only"));
        let held = warmer.hold();
        wait_until("the thread gave up", || warmer.lock().file.is_none());
        wait_until("the thread ended", || !warmer.is_warming());
        drop(held);
        let _again = warmer.hold();
        assert!(warmer.lock().file.is_none());
        assert_eq!(written(&path), 0);
    }

    /// socklab's own cgroup file is found in a v1 controller hierarchy or
    /// the v2 root, where this machine has one.
    #[test]
    fn the_own_procs_file_is_where_proc_self_cgroup_says() {
        let v1 = Path::new("/sys/fs/cgroup/pids");
        let v2 = Path::new("/sys/fs/cgroup");
        let found = if v1.join("cgroup.procs").exists() {
            own_procs_file(v1, 1)
        } else if v2.join("cgroup.controllers").exists() {
            own_procs_file(v2, 2)
        } else {
            eprintln!("no cgroup hierarchy here: nothing to find");
            return;
        };
        let Some(found) = found else {
            let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
            assert!(
                mounts.contains("favordynmods"),
                "not found, though no hierarchy is mounted with favordynmods"
            );
            return;
        };
        let pids =
            std::fs::read_to_string(&found).unwrap_or_else(|e| panic!("{}: {e}", found.display()));
        let me = std::process::id().to_string();
        assert!(
            pids.lines().any(|l| l.trim() == me),
            "{} does not list this process ({me})",
            found.display()
        );
    }
}
