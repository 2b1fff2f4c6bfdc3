//! `proxy`: starts socklab's proxy on a port of a host, forwarding to an
//! upstream address (from the same host or `dial_from:` another), whole
//! messages at the reader's pace or with the scenario's faults.

use socklab_scenario::ProxySpec;

use super::bind_listener;
use crate::check::Judgement;
use crate::run::proxy;
use crate::run::state::{StepContext, StepError};

pub async fn run(cx: &StepContext<'_>, spec: &ProxySpec) -> Result<Judgement, StepError> {
    let state = cx.state;
    let port = state.port(&spec.port)?;
    let upstream = state.address(&spec.upstream)?;
    let net = state.sandbox.host(spec.host.as_deref()).net();
    let listener = bind_listener(&net, port).map_err(|e| {
        StepError::Harness(format!(
            "proxy `{}` cannot listen on port {port}: {e}",
            spec.name
        ))
    })?;
    let dial = state
        .sandbox
        .host(spec.dial_from.as_deref().or(spec.host.as_deref()))
        .net();
    let hosts = state.sockets.all(&state.sandbox);
    state.add_proxy(proxy::start(
        listener,
        dial,
        upstream,
        spec.faults.clone(),
        hosts,
    ));
    Ok(Judgement::pass(format!(
        "proxy `{}` on port {port} → {upstream}",
        spec.name
    )))
}
