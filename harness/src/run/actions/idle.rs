//! `idle`: looks, until the step's time is up, for a moment when the
//! program and every process it forked are at rest: each has ended, or
//! is asleep and was not woken between two looks a few milliseconds apart.
//! A process that runs flat out (a loop that ignores `read()` returning 0)
//! never is; whatever the machine's load, it is never seen asleep. Nor is
//! a process asleep before what would wake it has arrived: the look must
//! also find the program settled by the rule of `run::settle` (nothing
//! socklab sent or closed still on its way).

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::time::Instant;

use crate::check::{Judgement, process};
use crate::facts::{IdleFact, ProcessActivity};
use crate::kernel::process as kproc;
use crate::run::settle;
use crate::run::state::{StepContext, StepError};

/// Between the two looks that must find the same sleeping processes.
const LOOK_APART: Duration = Duration::from_millis(20);

pub async fn run(cx: &StepContext<'_>, program: &str) -> Result<Judgement, StepError> {
    let state = cx.state;
    let program = state.program(program)?;
    let Some(root) = program.pid else {
        return Ok(Judgement::harness(format!(
            "`idle` looks at processes; {} runs inside socklab",
            program.label
        )));
    };
    let started = Instant::now();
    // The steps before closed what they closed before this.
    let since = crate::sandbox::spawn::start_mark();
    let cpu_at_start: BTreeMap<u32, Duration> = kproc::tree(&[root])
        .into_iter()
        .filter_map(|pid| Some((pid, kproc::cpu_time(pid)?)))
        .collect();
    let at_rest = settle::AtRest::new(state);
    let mut unsettled = Vec::new();
    let busy = loop {
        // In a scenario with a reference program inside socklab, starts
        // begun before this hold the look below back (`settle::look_at`).
        let before_first = crate::sandbox::spawn::start_mark();
        let first = look(root);
        cx.until.pause(LOOK_APART).await;
        let second = look(root);
        let restless: Vec<u32> = second
            .iter()
            .filter(|(pid, now)| {
                !resting(now) || first.get(pid).is_none_or(|before| woke(before, now))
            })
            .map(|(pid, _)| *pid)
            .collect();
        // Asleep is not enough: what socklab sent or closed must have
        // arrived too (a FIN still held by a program being started, or
        // queued on a loaded machine, would wake a spinning child later).
        if restless.is_empty() {
            let Some(at_rest) = &at_rest else {
                break None;
            };
            match at_rest.look(&program, since, before_first).await {
                Ok(()) => break None,
                Err(why) => unsettled = why,
            }
        } else {
            unsettled.clear();
        }
        if cx.until.expired().is_some() {
            break Some(
                restless
                    .into_iter()
                    .map(|pid| activity(pid, &second[&pid], &cpu_at_start))
                    .collect::<Vec<_>>(),
            );
        }
    };
    let fact = IdleFact {
        program: state.program_fact(&program, busy.is_some()),
        waited: started.elapsed(),
        busy,
        unsettled,
    };
    Ok(process::idle(&fact))
}

/// Each process of the tree and its threads at one look.
fn look(root: u32) -> BTreeMap<u32, Vec<kproc::Task>> {
    kproc::tree(&[root])
        .into_iter()
        .map(|pid| (pid, kproc::tasks(pid)))
        .collect()
}

/// Every thread asleep, stopped or exited (not running, not in I/O).
fn resting(tasks: &[kproc::Task]) -> bool {
    tasks
        .iter()
        .all(|t| matches!(t.state, 'S' | 'Z' | 'X' | 'I' | 'T' | 't'))
}

/// Whether a thread ran between the two looks.
fn woke(before: &[kproc::Task], after: &[kproc::Task]) -> bool {
    before.len() != after.len()
        || before
            .iter()
            .zip(after)
            .any(|(a, b)| a.tid != b.tid || a.runs != b.runs || a.state != b.state)
}

fn activity(
    pid: u32,
    tasks: &[kproc::Task],
    cpu_at_start: &BTreeMap<u32, Duration>,
) -> ProcessActivity {
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|c| c.trim().to_string())
        .unwrap_or_default();
    let doing = match tasks.iter().find(|t| t.state == 'R').or(tasks.first()) {
        Some(task) => kproc::describe_task(task),
        None => "exited".to_string(),
    };
    let cpu = kproc::cpu_time(pid)
        .unwrap_or_default()
        .saturating_sub(cpu_at_start.get(&pid).copied().unwrap_or_default());
    ProcessActivity {
        pid,
        comm,
        doing,
        cpu,
    }
}
