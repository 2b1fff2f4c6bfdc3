//! `packets`: judge a connection's TCP packets as captured so far. The
//! connection is the one socklab's peer made or accepted (its exact ends),
//! or a program's connection to the server at `to:` (with one end on the
//! program's host when the scenario has several). The checks are the
//! packets crate's, chosen by [`check::packets`](crate::check::packets);
//! the packets a failed check points at are remembered for the ladder.
//!
//! The step judges what was captured when it runs, waiting (at most its
//! `within:`, or until the scenario settles) for the connection to appear
//! and, when a check is about its end (`first_fin`, `no_rst`, whole
//! records), for the end: a FIN from each side, or an RST. A capture
//! cannot be waited on, so it is looked at again every few milliseconds.
//!
//! Without a capture (the loopback fallback) the step is skipped with the
//! reason. [`judge_late`] judges a packet step the scenario did not reach
//! because an earlier step failed, on what was captured until then.

use std::net::IpAddr;
use std::time::Duration;

use socklab_packets::checks::{self, Endpoints};
use socklab_scenario::{PacketChecks, PacketsOf};

use crate::check::{Judgement, packets};
use crate::run::capture::off_the_runtime;
use crate::run::state::{ScenarioState, StepContext, StepError};

pub async fn run(
    cx: &StepContext<'_>,
    of: &PacketsOf,
    wanted: &PacketChecks,
) -> Result<Judgement, StepError> {
    let state = cx.state;
    if let Some(why) = state.capture.unavailable() {
        return Ok(Judgement::skipped(why));
    }
    let endpoints = endpoints(state, of).await?;
    let needs_the_end = wanted.first_fin.is_some()
        || wanted.no_rst
        || wanted.client_records.is_some()
        || wanted.server_records.is_some();
    loop {
        let conversation =
            off_the_runtime(|| state.capture.conversation()).map_err(StepError::Harness)?;
        let found = checks::find_connection(&conversation, &endpoints);
        let complete = match &found {
            Ok(connection) => !needs_the_end || connection.is_finished(),
            Err(_) => false,
        };
        if complete || cx.until.expired().is_some() {
            let connection = match found {
                Ok(connection) => connection,
                Err(verdict) => return Ok(packets::judge(&[*verdict], None)),
            };
            let verdicts = packets::apply(connection, &endpoints, wanted);
            state.capture.looked_at(connection, &verdicts);
            return Ok(packets::judge(&verdicts, Some(connection)));
        }
        cx.until.pause(LOOK_AGAIN).await;
    }
}

/// How long a packet step waits before looking at the capture again.
const LOOK_AGAIN: Duration = Duration::from_millis(5);

/// A packet step not reached because the scenario stopped: judged on the
/// capture as it is, keeping only what the packets already show (see
/// [`packets::conclusive_so_far`]); `None` when there is nothing to say
/// (no capture, no such connection, nothing conclusive yet).
pub async fn judge_late(
    state: &ScenarioState<'_>,
    of: &PacketsOf,
    wanted: &PacketChecks,
) -> Option<Judgement> {
    if state.capture.unavailable().is_some() {
        return None;
    }
    let endpoints = endpoints(state, of).await.ok()?;
    let conversation = off_the_runtime(|| state.capture.conversation()).ok()?;
    let connection = checks::find_connection(&conversation, &endpoints).ok()?;
    let verdicts =
        packets::conclusive_so_far(connection, packets::apply(connection, &endpoints, wanted));
    if verdicts.is_empty() {
        return None;
    }
    state.capture.looked_at(connection, &verdicts);
    Some(packets::judge(&verdicts, Some(connection)))
}

/// The ends the connection must have.
async fn endpoints(state: &ScenarioState<'_>, of: &PacketsOf) -> Result<Endpoints, StepError> {
    match of {
        PacketsOf::Peer(name) => {
            let peer = state.peer(name)?;
            let ends = peer.lock().await.ends;
            let ends = ends.ok_or_else(|| {
                StepError::Missing(format!(
                    "peer `{name}` has no connection (it never connected or accepted one)"
                ))
            })?;
            Ok(Endpoints::exactly(ends.client, ends.server))
        }
        PacketsOf::Program { program, to } => {
            let server = state.address(to)?;
            let mut endpoints = Endpoints::server(server);
            // On several hosts, the program's host is the client's unless
            // it is the server's.
            let host: IpAddr = state
                .sandbox
                .host(state.program(program)?.host.as_deref())
                .addr;
            if state.sandbox.hosts().count() > 1 && host != server.ip() {
                endpoints.client = Some(host);
            }
            Ok(endpoints)
        }
    }
}
