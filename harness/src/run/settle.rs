//! Deciding instead of waiting: finding, from the kernel, that nothing in a
//! scenario can change any more, so that every wait in progress ends at once
//! instead of at its deadline.
//!
//! A step that waits for a reply, an output, an exit or a connection gives
//! up at its deadline. When the program it waits for can no longer act (it
//! is asleep in `read()` with nothing queued for it, or it has exited) that
//! deadline is pure waste; and a `silence` step, which *wants* nothing to
//! arrive, is proven the moment nothing can. The [`Decider`] of a scenario
//! looks for that moment and settles the scenario's [`Settle`], with the
//! evidence; every wait in progress then ends (`run/wait.rs`), and the
//! checks say why in the student's words ("tcpserv (submission): sleeping in
//! read() on fd 4; fd 4 is TCP …, 0 bytes queued").
//!
//! # The rule
//!
//! The scenario is settled when all of this holds at two looks at least
//! [`CONFIRM`] apart, with no program thread run in between (the kernel's
//! count of times each was put on a CPU is the same) and socklab itself not
//! having acted:
//!
//! - **socklab waits**: the step under way waits for the programs
//!   ([`decides_early`]: `expect`, `exit`, `recv`, `silence`, `accept`,
//!   `wait_listen`, `children`, `running`), not acts on them
//!   (`send`, `type`, `connect`, `stop`, …); inside `concurrently`, only
//!   once a single branch is left (a branch that goes on after its wait may
//!   act for another branch's wait);
//! - **the programs are quiet** by the kernel's rule
//!   ([`crate::kernel::quiescence`], `docs/deciding.md`): the processes of
//!   the scenario (the programs socklab started, their descendants, and
//!   orphans adopted by the pid namespace's init) have exited, or sleep in
//!   calls only input can end with nothing queued for them, no timer armed;
//!   no byte, handshake or close is in flight in the scenario's namespaces;
//! - **nothing is on its way to socklab**: every program that has ended has
//!   had its end collected, no output waits in a program's pipes or
//!   terminal (or, in-process, written but not taken), no connection or
//!   pending connection waits on a socklab peer's socket, and no proxy of
//!   socklab carries a connection (it may hold bytes between pieces);
//! - **in-process reference programs wait too**: the runtime thread of each
//!   (`run/program.rs`) sleeps in `epoll_wait` without a timeout, and no
//!   blocking thread of it exists.
//!
//! Any doubt is "not settled": a false "settled" fails a correct, merely
//! slow program, a missed one only costs the deadline, which stays in force.
//! At the loopback level (no namespaces) socklab does not decide: the
//! machine's sockets and processes cannot be told from the scenario's.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

use socklab_scenario::Action;

use super::program::Program;
use super::state::ScenarioState;
use super::wait::{Settle, Settled};
use crate::kernel::process::{self, Call, Task, Timeout};
use crate::kernel::quiescence::{self, Facts};
use crate::kernel::{NetnsId, QuiescenceProbe, TcpSocket, TcpState};
use crate::sandbox::IsolationLevel;

/// How long a wait runs before the first look: most waits end by themselves
/// sooner, and a look then costs nothing.
pub const FIRST_LOOK: Duration = Duration::from_millis(5);
/// How far apart the two looks that settle a scenario are at least.
pub const CONFIRM: Duration = Duration::from_millis(15);
/// The longest pause between looks while the programs keep busy (reached
/// after about half a second of it: a look reads every process, and a
/// spinning or forking program keeps its scenario busy until a deadline).
pub const SLOWEST_LOOK: Duration = Duration::from_millis(400);

/// Whether a step of this action waits for the programs (and may end as
/// soon as the scenario settles), rather than act on them.
pub fn decides_early(action: &Action) -> bool {
    matches!(
        action,
        Action::Expect { .. }
            | Action::Exit { .. }
            | Action::Recv { .. }
            | Action::Silence { .. }
            | Action::Accept { .. }
            | Action::WaitListen { .. }
            | Action::Children { .. }
            | Action::Running { .. }
    )
}

/// What the step loop is doing, as the [`Decider`] needs to know it: how
/// many branches run, how many of them are in a step that waits for the
/// programs, and a count of every change (socklab acted, a step began or
/// ended), so that a decision taken across a change is thrown away.
pub struct Activity {
    counts: Mutex<Counts>,
    changed: Notify,
}

#[derive(Debug, Clone, Copy)]
struct Counts {
    /// Branches of the step loop running (1 outside `concurrently`).
    live: usize,
    /// Of them, those in a step that waits for the programs.
    waiting: usize,
    /// Bumped on every change.
    epoch: u64,
}

impl Counts {
    /// Only a lone branch is decided for: a branch that goes on after its
    /// wait (a `silence` that passes, a `running` hold) may act for another
    /// branch's wait, which must not fail before it did.
    fn ready(&self) -> bool {
        self.live == 1 && self.waiting == 1
    }
}

/// The branches of one `concurrently`, counting down as they finish.
pub struct Branches {
    left: AtomicUsize,
}

impl Default for Activity {
    fn default() -> Self {
        Activity {
            counts: Mutex::new(Counts {
                live: 1,
                waiting: 0,
                epoch: 0,
            }),
            changed: Notify::new(),
        }
    }
}

impl Activity {
    fn change(&self, f: impl FnOnce(&mut Counts)) {
        {
            let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
            counts.epoch += 1;
            f(&mut counts);
        }
        self.changed.notify_waiters();
    }

    /// A step begins (`waits`: it waits for the programs). socklab may act
    /// now, so the scenario is no longer settled.
    pub fn step_started(&self, waits: bool, settle: &Settle) {
        self.change(|counts| {
            if waits {
                counts.waiting += 1;
            }
            // Under the same lock as a decision: no settling after this.
            settle.unsettle();
        });
    }

    pub fn step_finished(&self, waits: bool) {
        self.change(|counts| {
            if waits {
                counts.waiting = counts.waiting.saturating_sub(1);
            }
        });
    }

    /// The branch running a `concurrently` of `n` branches becomes those `n`.
    pub fn branches_started(&self, n: usize) -> Arc<Branches> {
        self.change(|counts| counts.live = (counts.live + n).saturating_sub(1).max(1));
        Arc::new(Branches {
            left: AtomicUsize::new(n),
        })
    }

    /// A branch of `set` has finished; the last one hands over to the
    /// branch that started them, which goes on.
    pub fn branch_finished(&self, set: &Branches) {
        let last = set.left.fetch_sub(1, Ordering::SeqCst) == 1;
        self.change(|counts| {
            if !last {
                counts.live = counts.live.saturating_sub(1).max(1);
            }
        });
    }

    /// The change count, when every branch waits for the programs.
    fn ready(&self) -> Option<u64> {
        let counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        counts.ready().then_some(counts.epoch)
    }

    fn epoch(&self) -> u64 {
        self.counts.lock().unwrap_or_else(|e| e.into_inner()).epoch
    }

    /// Settles `settle` if nothing changed since `epoch` (atomically with
    /// the steps' changes).
    fn settle_if_unchanged(&self, epoch: u64, settle: &Settle, why: Settled) -> bool {
        let counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if counts.epoch != epoch || !counts.ready() {
            return false;
        }
        settle.settle(why);
        true
    }

    /// Waits until the change count moves from `epoch`, at most `period`;
    /// true if it did not move.
    async fn unchanged_for(&self, epoch: u64, period: Duration) -> bool {
        let sleep = tokio::time::sleep(period);
        tokio::pin!(sleep);
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if self.epoch() != epoch {
                return false;
            }
            tokio::select! {
                () = &mut sleep => return self.epoch() == epoch,
                () = changed => {}
            }
        }
    }

    /// Waits until every branch waits for the programs, with `settle`
    /// unsettled; returns the change count then.
    async fn until_ready(&self, settle: &Settle) -> u64 {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if !settle.is_settled()
                && let Some(epoch) = self.ready()
            {
                return epoch;
            }
            changed.await;
        }
    }
}

/// A socket socklab itself holds in a scenario (a peer's connection or
/// listening socket), named for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnSocket {
    /// "connection `first`".
    pub what: String,
    pub inode: u64,
    /// socklab closed it. Until the kernel shows it closing, another
    /// process still holds it: a program socklab is starting for any
    /// scenario has a copy of socklab's descriptors until its `exec`, and
    /// the close (the FIN the other side waits for) goes out only then.
    pub closed: bool,
}

/// What socklab knows about one of its proxies to tell whether it carries
/// a connection: its port and listening socket in its host's namespace,
/// and the sockets it opened towards its upstream.
#[derive(Debug, Clone)]
pub struct ProxyWatch {
    pub name: String,
    pub netns: Option<NetnsId>,
    pub port: u16,
    pub listener: u64,
    pub upstream: Arc<Mutex<Vec<u64>>>,
}

/// One program as socklab's side of a look sees it.
#[derive(Debug, Clone)]
pub struct ProgramLook {
    /// `tcpserv (submission)`.
    pub label: String,
    pub pid: Option<u32>,
    /// socklab has recorded how it ended.
    pub ended: bool,
    /// Output written that socklab has not taken yet (`Err`: unknown).
    pub in_transit: Result<u64, String>,
    /// An in-process program that has not ended: its runtime thread.
    pub runtime: Option<RuntimeLook>,
}

/// An in-process program's runtime thread at the two looks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeLook {
    pub first: Option<Task>,
    pub second: Option<Task>,
    /// Threads of its runtime besides itself (blocking work under way).
    pub helpers: usize,
}

/// Everything one look saw: the kernel's facts about the programs and
/// namespaces, and socklab's own side.
#[derive(Debug, Clone)]
pub struct Look {
    pub kernel: Facts,
    pub programs: Vec<ProgramLook>,
    pub own_sockets: Vec<OwnSocket>,
    pub proxies: Vec<ProxyWatch>,
}

/// What a look decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judged {
    pub quiet: bool,
    /// Quiet: one line per program or process, for the failure message.
    /// Not quiet: what keeps the scenario going.
    pub lines: Vec<String>,
    /// Each thread's run count, to compare two looks.
    runs: BTreeMap<(u32, u32), Option<u64>>,
}

impl Judged {
    /// Not quiet, for `why`, without a look at the threads.
    fn not_quiet(why: String) -> Judged {
        Judged {
            quiet: false,
            lines: vec![why],
            runs: BTreeMap::new(),
        }
    }
}

/// Decides from one look (no I/O): is the scenario settled, and why (not).
pub fn judge(look: &Look) -> Judged {
    let verdict = quiescence::judge(&look.kernel);
    let label_of = |pid: u32| {
        look.programs
            .iter()
            .find(|p| p.pid == Some(pid))
            .map(|p| p.label.clone())
    };
    let mut busy: Vec<String> = Vec::new();
    let mut quiet_lines: Vec<String> = Vec::new();
    for evidence in &verdict.processes {
        let who = label_of(evidence.pid).unwrap_or_else(|| match evidence.comm.as_str() {
            "" => format!("pid {}", evidence.pid),
            comm => format!("pid {} ({comm})", evidence.pid),
        });
        let line = format!("{who}: {}", evidence.because);
        if evidence.quiet {
            quiet_lines.push(line);
        } else {
            busy.push(line);
        }
    }
    busy.extend(verdict.network.iter().cloned());

    let tables: Vec<&TcpSocket> = look
        .kernel
        .sockets
        .values()
        .filter_map(|t| t.as_ref().ok())
        .flatten()
        .collect();
    let mut runs: BTreeMap<(u32, u32), Option<u64>> = BTreeMap::new();
    for p in &look.kernel.processes {
        for task in &p.view.tasks {
            runs.insert((p.view.pid, task.tid), task.runs);
        }
    }
    for program in &look.programs {
        let label = &program.label;
        if let Some(pid) = program.pid
            && !program.ended
        {
            let view = look.kernel.processes.iter().find(|p| p.view.pid == pid);
            let gone =
                look.kernel.gone.contains(&pid) || view.is_some_and(|p| p.view.state() == 'Z');
            if gone {
                busy.push(format!(
                    "{label} has ended, and socklab has not yet collected how"
                ));
            }
        }
        match &program.in_transit {
            Ok(0) => {}
            Ok(n) => busy.push(format!(
                "{label} printed {n} byte{} that socklab has not read yet",
                if *n == 1 { "" } else { "s" }
            )),
            Err(why) => busy.push(format!("{label}: {why}")),
        }
        if let Some(runtime) = &program.runtime {
            match runtime_waits(runtime) {
                Ok(()) => quiet_lines.push(format!(
                    "{label}: waiting for input inside socklab (its thread sleeps in epoll_wait() without a timeout)"
                )),
                Err(why) => busy.push(format!("{label} (inside socklab): {why}")),
            }
            if let Some(task) = &runtime.second {
                runs.insert((0, task.tid), task.runs);
            }
        } else if program.pid.is_none() && program.ended {
            quiet_lines.push(format!("{label}: ended"));
        }
    }
    for own in &look.own_sockets {
        for s in tables.iter().filter(|s| s.inode == own.inode) {
            if own.closed
                && matches!(
                    s.state,
                    TcpState::Established | TcpState::CloseWait | TcpState::Listen
                )
            {
                busy.push(format!(
                    "{}: socklab closed it, and the close has not taken effect yet (a program being started still holds a copy)",
                    own.what
                ));
                continue;
            }
            match s.state {
                TcpState::Listen if s.recv_queue > 0 => busy.push(format!(
                    "{}: a connection waits for socklab to accept it",
                    own.what
                )),
                TcpState::Listen => {}
                _ if s.recv_queue > 0 => busy.push(format!(
                    "{}: {} bytes wait for socklab to read them",
                    own.what, s.recv_queue
                )),
                _ => {}
            }
        }
    }
    for proxy in &look.proxies {
        let upstream = proxy
            .upstream
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        // Its own port is looked for on its host; its connections
        // upstream by inode on any host (`dial_from:` makes them on another).
        let carrying = look
            .kernel
            .sockets
            .iter()
            .filter_map(|(id, t)| t.as_ref().ok().map(|t| (id, t)))
            .flat_map(|(id, t)| t.iter().map(move |s| (id, s)))
            .any(|(id, s)| {
                (proxy.netns.is_none_or(|ns| ns == *id)
                    && s.local.port() == proxy.port
                    && s.inode != proxy.listener)
                    || (s.inode != 0 && upstream.contains(&s.inode))
            });
        let pending = tables
            .iter()
            .any(|s| s.inode == proxy.listener && s.recv_queue > 0);
        if carrying || pending {
            busy.push(format!(
                "socklab's proxy `{}` carries a connection (it may hold bytes it has not passed on)",
                proxy.name
            ));
        }
    }
    let quiet = busy.is_empty() && verdict.quiet;
    Judged {
        quiet,
        lines: if quiet { quiet_lines } else { busy },
        runs,
    }
}

/// `Ok` when an in-process program's runtime thread waits for input at
/// both looks, without having run in between.
fn runtime_waits(runtime: &RuntimeLook) -> Result<(), String> {
    let (Some(first), Some(second)) = (&runtime.first, &runtime.second) else {
        return Err("its thread could not be looked at".to_string());
    };
    if runtime.helpers > 0 {
        return Err("a helper thread of it is at work".to_string());
    }
    for task in [first, second] {
        if task.state != 'S' {
            return Err("it is running".to_string());
        }
        match &task.call {
            Some(Call::Multiplex {
                name,
                timeout: Timeout::Never,
                ..
            }) if name.starts_with("epoll") => {}
            Some(Call::Multiplex { name, .. }) if name.starts_with("epoll") => {
                return Err("a timer of it will wake it".to_string());
            }
            _ => return Err("it is not waiting for input".to_string()),
        }
    }
    if first.tid != second.tid || first.runs != second.runs || first.runs.is_none() {
        return Err("it woke while socklab looked".to_string());
    }
    Ok(())
}

/// A failure message for a wait the scenario's settling ended: the
/// message, then what the kernel showed about each program, unless the
/// message says it already ("…; it is still sleeping in read() on fd 0").
pub fn decided_at_once(message: &str, settled: &Settled) -> String {
    let new: Vec<&str> = settled
        .evidence
        .iter()
        .map(String::as_str)
        .filter(|line| {
            let what = line.split_once(": ").map_or(*line, |(_, what)| what);
            !message.contains(what)
        })
        .collect();
    if new.is_empty() {
        format!("{message}; socklab decided at once: nothing could change any more")
    } else {
        format!(
            "{message}; socklab decided at once, as nothing could change any more: {}",
            new.join("; ")
        )
    }
}

/// Whether no thread ran between two looks that were both quiet.
pub fn same_runs(a: &Judged, b: &Judged) -> bool {
    a.runs == b.runs && b.runs.values().all(Option::is_some)
}

/// Looks for the moment a scenario settles and settles it (one per
/// scenario run, at the namespaces level).
pub struct Decider<'s> {
    state: &'s ScenarioState<'s>,
    probe: Arc<QuiescenceProbe>,
}

impl<'s> Decider<'s> {
    /// The decider of a scenario; `None` where socklab cannot decide (the
    /// loopback fallback).
    pub fn new(state: &'s ScenarioState<'s>) -> Option<Decider<'s>> {
        if state.sandbox.level != IsolationLevel::Namespaces {
            return None;
        }
        let probe = QuiescenceProbe::new();
        for host in state.sandbox.hosts() {
            probe.watch(host.sock_diag()?.clone());
        }
        Some(Decider {
            state,
            probe: Arc::new(probe),
        })
    }

    /// Runs as long as the scenario: whenever every branch waits, looks at
    /// the scenario (sooner at first, less often while the programs keep
    /// busy) and settles it once two looks agree that nothing can change.
    pub async fn run(&self) {
        let activity = &self.state.activity;
        let settle = &self.state.settle;
        loop {
            let epoch = activity.until_ready(settle).await;
            // What socklab closed in the steps so far, it closed before this.
            let since = crate::sandbox::spawn::start_mark();
            let mut pause = FIRST_LOOK;
            loop {
                if !activity.unchanged_for(epoch, pause).await {
                    break;
                }
                pause = (pause * 2).min(SLOWEST_LOOK);
                // What a reference program inside socklab closed, it closed
                // before this (or its thread ran between the looks).
                let before_first = crate::sandbox::spawn::start_mark();
                let first = self.look(since, since).await;
                if !first.quiet || activity.epoch() != epoch {
                    continue;
                }
                if !activity.unchanged_for(epoch, CONFIRM).await {
                    break;
                }
                let second = self.look(since, before_first).await;
                if second.quiet && same_runs(&first, &second) {
                    let why = Settled {
                        evidence: second.lines,
                    };
                    if activity.settle_if_unchanged(epoch, settle, why) {
                        break;
                    }
                }
            }
        }
    }

    /// One look, off the async threads (it reads `/proc` and netlink).
    async fn look(&self, since: u64, in_process_since: u64) -> Judged {
        look_at(
            self.state,
            &self.probe,
            self.state.all_programs(),
            since,
            in_process_since,
        )
        .await
    }
}

/// Looks at one program for `idle:`: whether it and every process it
/// forked are at rest, asleep waiting for input that is not there, with
/// everything socklab sent or closed arrived, by the same rule and evidence
/// as a scenario settling. `None` from [`AtRest::new`] where socklab cannot
/// tell (the loopback fallback).
pub struct AtRest<'s>(Decider<'s>);

impl<'s> AtRest<'s> {
    pub fn new(state: &'s ScenarioState<'s>) -> Option<AtRest<'s>> {
        Decider::new(state).map(AtRest)
    }

    /// `Err` with what has not arrived. `since`: a
    /// [`crate::sandbox::spawn::start_mark`] taken after socklab's last
    /// close or end of input; `in_process_since`, one taken after the
    /// last close of a reference program running inside socklab (see
    /// [`look_at`]).
    pub async fn look(
        &self,
        program: &Arc<Program>,
        since: u64,
        in_process_since: u64,
    ) -> Result<(), Vec<String>> {
        let judged = look_at(
            self.0.state,
            &self.0.probe,
            vec![program.clone()],
            since,
            in_process_since,
        )
        .await;
        if judged.quiet {
            Ok(())
        } else {
            Err(judged.lines)
        }
    }
}

/// One look at `programs` (and the scenario's own sockets and proxies),
/// judged, off the async threads. Starts begun before `since` and still
/// under way hold copies of what socklab closed and hold the look back; in
/// a scenario with a reference program running inside socklab, which closes
/// its sockets while socklab waits, so do starts begun before
/// `in_process_since` (a mark taken after its last close: before an
/// earlier look its thread has not run since).
async fn look_at(
    state: &ScenarioState<'_>,
    probe: &Arc<QuiescenceProbe>,
    programs: Vec<Arc<Program>>,
    since: u64,
    in_process_since: u64,
) -> Judged {
    let own_sockets = state.own_sockets();
    let proxies = state.proxy_watches();
    let init = state.sandbox.init_pid();
    let probe = probe.clone();
    // A reference program running inside socklab closes its sockets while
    // socklab waits; a start begun before that (by any scenario of the run)
    // holds copies of them until its `execve`, and the FIN with them.
    let since = if state.has_in_process_program() {
        since.max(in_process_since)
    } else {
        since
    };
    let job = tokio::task::spawn_blocking(move || {
        let starting = crate::sandbox::spawn::started_before(since);
        if starting > 0 {
            return Judged::not_quiet(format!(
                "socklab is starting {starting} program(s), which hold copies of its descriptors for a moment: an end of input or a close it made may not have taken effect yet"
            ));
        }
        if let Some(line) = busy_program(&programs) {
            return Judged::not_quiet(line);
        }
        judge(&look(&probe, init, &programs, own_sockets, proxies))
    });
    job.await
        .unwrap_or_else(|e| Judged::not_quiet(format!("socklab could not look: {e}")))
}

/// A program whose process is running (or in an uninterruptible wait),
/// told by one read of its `stat`: the scenario is not quiet, whatever the
/// rest of a look would find, so the look is spared (under load most looks
/// end here).
fn busy_program(programs: &[Arc<Program>]) -> Option<String> {
    programs
        .iter()
        .filter(|p| p.exit_info().is_none())
        .find_map(|program| {
            let stat = super::procfs::stat(program.pid?)?;
            matches!(stat.state, 'R' | 'D').then(|| {
                format!(
                    "{} ({}) is in state {}",
                    program.label, stat.comm, stat.state
                )
            })
        })
}

/// Gathers one look: the kernel's facts about the scenario's processes and
/// namespaces (looked at twice within), and socklab's side.
fn look(
    probe: &QuiescenceProbe,
    init: Option<u32>,
    programs: &[Arc<Program>],
    own_sockets: Vec<OwnSocket>,
    proxies: Vec<ProxyWatch>,
) -> Look {
    let mut roots: Vec<u32> = programs.iter().filter_map(|p| p.pid).collect();
    // Orphans of the scenario's programs live on as the init's children.
    if let Some(init) = init {
        let children = std::fs::read_to_string(format!("/proc/{init}/task/{init}/children"))
            .unwrap_or_default();
        roots.extend(
            children
                .split_whitespace()
                .filter_map(|c| c.parse::<u32>().ok()),
        );
    }
    let me = std::process::id();
    let first: Vec<Option<Task>> = programs
        .iter()
        .map(|p| {
            p.runtime_thread()
                .and_then(|t| t.tid())
                .and_then(|tid| process::thread(me, tid))
        })
        .collect();
    let mut kernel = probe.gather(&roots);
    // A frozen program leads its process group (`run::program`).
    kernel.frozen = programs
        .iter()
        .filter(|p| p.frozen())
        .filter_map(|p| p.pid)
        .collect();
    // socklab's thread names matter only to a program running inside it.
    let names = if programs.iter().any(|p| p.runtime_thread().is_some()) {
        thread_names(me)
    } else {
        Vec::new()
    };
    let programs = programs
        .iter()
        .zip(first)
        .map(|(program, first)| {
            let ended = program.exit_info().is_some();
            let runtime = program.runtime_thread().filter(|_| !ended).map(|thread| {
                let second = thread.tid().and_then(|tid| process::thread(me, tid));
                let helpers = names
                    .iter()
                    .filter(|(tid, name)| *name == thread.name && Some(*tid) != thread.tid())
                    .count();
                RuntimeLook {
                    first,
                    second,
                    helpers,
                }
            });
            ProgramLook {
                label: program.label.clone(),
                pid: program.pid,
                ended,
                in_transit: program.output_in_transit(),
                runtime,
            }
        })
        .collect();
    Look {
        kernel,
        programs,
        own_sockets,
        proxies,
    }
}

/// The name (`comm`) of each thread of socklab.
fn thread_names(me: u32) -> Vec<(u32, String)> {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{me}/task")) else {
        return Vec::new();
    };
    dir.filter_map(|e| {
        let tid: u32 = e.ok()?.file_name().to_str()?.parse().ok()?;
        let comm = std::fs::read_to_string(format!("/proc/{me}/task/{tid}/comm")).ok()?;
        Some((tid, comm.trim_end().to_string()))
    })
    .collect()
}

/// The inode of a socket descriptor (what `/proc/PID/fd` and `sock_diag` name it by).
pub fn socket_inode(fd: std::os::fd::RawFd) -> Option<u64> {
    // SAFETY: fstat fills the struct we pass for a descriptor we hold.
    let mut stat: libc::stat = unsafe { std::mem::zeroed() };
    (unsafe { libc::fstat(fd, &mut stat) } == 0).then_some(stat.st_ino)
}

#[cfg(test)]
mod tests;
