//! `listen`: a socklab peer listens on a port of a host, for a program to
//! connect to (`accept` waits for it).

use socklab_scenario::Template;

use super::bind_listener;
use crate::check::Judgement;
use crate::run::peer::Peer;
use crate::run::state::{StepContext, StepError};

pub async fn run(
    cx: &StepContext<'_>,
    peer: &str,
    port: &Template,
    host: Option<&str>,
) -> Result<Judgement, StepError> {
    let state = cx.state;
    let port = state.port(port)?;
    let net = state.sandbox.host(host).net();
    let listener = bind_listener(&net, port).map_err(|e| {
        StepError::Harness(format!("peer `{peer}` cannot listen on port {port}: {e}"))
    })?;
    state.add_peer(Peer::listening(peer, listener));
    Ok(Judgement::pass(format!("listening on port {port}")))
}
