//! `wait_listen`: waits until a program listens on a TCP port (or ends, or
//! the step's time is up), and says where it listens instead when it does
//! not listen there.
//!
//! Only a listening socket of *this* program counts: for a program in a
//! process, a socket of its namespace (`kernel::sock_diag`) whose inode one
//! of its processes holds; for a reference program inside socklab, the
//! listening socket it announced when it bound it. A socket left by an
//! earlier program on the same port (one still shutting down, a child it
//! forked) never passes for it.

use std::net::SocketAddr;
use std::time::Duration;

use socklab_scenario::Template;

use crate::check::{Judgement, process};
use crate::facts::{ListenFact, ListenOutcome};
use crate::kernel;
use crate::run::program::Program;
use crate::run::state::{StepContext, StepError};

/// Between two looks at a process's listening sockets.
const PROBE_PERIOD: Duration = Duration::from_millis(5);

pub async fn run(
    cx: &StepContext<'_>,
    program: &str,
    port: &Template,
) -> Result<Judgement, StepError> {
    let state = cx.state;
    let program = state.program(program)?;
    let number = state.port(port)?;
    let budget = cx.until.remaining();
    let (outcome, listening) = match &program.transcript {
        Some(transcript) if program.pid.is_none() => {
            in_process(cx, &program, transcript, number).await
        }
        _ => in_a_process(cx, &program, number).await?,
    };
    let outcome = outcome.unwrap_or_else(|why| ListenOutcome::NotYet {
        waited: budget,
        why,
    });
    let is_listening = outcome == ListenOutcome::Listening;
    let fact = ListenFact {
        program: state.program_fact(&program, !is_listening),
        port: number,
        option: port_option(cx, port),
        elsewhere: listening
            .into_iter()
            .filter(|a| a.port() != number)
            .collect(),
        outcome,
    };
    Ok(process::listening(&fact))
}

/// The course option behind a `{{ports.NAME}}` (or `{{options.NAME}}`) port.
fn port_option(cx: &StepContext<'_>, port: &Template) -> Option<String> {
    let mut placeholders = port.placeholders();
    let (namespace, name) = placeholders.next()?;
    if placeholders.next().is_some() {
        return None;
    }
    match namespace {
        "options" => Some(name.to_string()),
        "ports" => cx
            .state
            .scenario
            .ports
            .get(name)?
            .option()
            .map(str::to_string),
        _ => None,
    }
}

/// A reference program inside socklab: waits for the listening socket it
/// announces when bound (or for its end).
async fn in_process(
    cx: &StepContext<'_>,
    program: &Program,
    transcript: &socklab_reference::transcript::Transcript,
    port: u16,
) -> (
    Result<ListenOutcome, crate::facts::Expired>,
    Vec<SocketAddr>,
) {
    use socklab_reference::transcript::EventKind;
    let bound = |events: &[socklab_reference::transcript::TranscriptEvent]| {
        events.iter().find_map(|e| match e.kind {
            EventKind::Listening { local } if local.port() == port => Some(()),
            _ => None,
        })
    };
    let outcome = tokio::select! {
        biased;
        waited = cx.until.wait(transcript.wait_for(bound)) => waited.map(|()| ListenOutcome::Listening),
        Some(info) = program.wait_exit(&cx.until) => Ok(ListenOutcome::Exited(info)),
    };
    let listening = transcript
        .events()
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::Listening { local } => Some(local),
            _ => None,
        })
        .collect();
    (outcome, listening)
}

/// A program in a process: looks at the listening sockets of its
/// namespace that it (or a process it forked) holds.
async fn in_a_process(
    cx: &StepContext<'_>,
    program: &Program,
    port: u16,
) -> Result<
    (
        Result<ListenOutcome, crate::facts::Expired>,
        Vec<SocketAddr>,
    ),
    StepError,
> {
    let state = cx.state;
    let host = state.sandbox.host(program.host.as_deref());
    let mut listening = Vec::new();
    let outcome = loop {
        if let Some(pid) = program.pid {
            let pids = kernel::process::tree(&[pid]);
            listening = state.sockets.listening_of(host, &pids).map_err(|e| {
                StepError::Harness(format!(
                    "cannot read the sockets of host `{}` (sock_diag): {e}",
                    host.name
                ))
            })?;
            if listening.iter().any(|a| a.port() == port) {
                break Ok(ListenOutcome::Listening);
            }
        }
        if let Some(info) = program.exit_info() {
            break Ok(ListenOutcome::Exited(info));
        }
        if let Some(why) = cx.until.expired() {
            break Err(why);
        }
        cx.until.pause(PROBE_PERIOD).await;
    };
    Ok((outcome, listening))
}
