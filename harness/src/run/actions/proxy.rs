//! `proxy`: starts socklab's proxy on a port of a host, forwarding to an
//! upstream address (from the same host or `dial_from:` another), whole
//! messages at the reader's pace or with the scenario's faults.

use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::{Arc, Mutex};

use socklab_reference::net::Net;
use socklab_scenario::ProxySpec;

use super::bind_listener;
use crate::check::Judgement;
use crate::kernel::SockDiag;
use crate::run::proxy;
use crate::run::settle::{ProxyWatch, socket_inode};
use crate::run::state::{StepContext, StepError};

pub async fn run(cx: &StepContext<'_>, spec: &ProxySpec) -> Result<Judgement, StepError> {
    let state = cx.state;
    let port = state.port(&spec.port)?;
    let upstream = state.address(&spec.upstream)?;
    let hosts = state.sockets.all(&state.sandbox);
    if let Some(only) = only_on_loopback(&hosts, upstream) {
        // A client would be refused: so is the one the proxy stands in
        // front of, instead of being accepted and then reset.
        return Ok(Judgement::pass(format!(
            "proxy `{}` does not listen on port {port}: the program it would \
             forward to listens on {only} only, which {upstream} does not reach",
            spec.name
        )));
    }
    let net = state.sandbox.host(spec.host.as_deref()).net();
    let listener = bind_listener(&net, port).map_err(|e| {
        StepError::Harness(format!(
            "proxy `{}` cannot listen on port {port}: {e}",
            spec.name
        ))
    })?;
    let host = state.sandbox.host(spec.host.as_deref());
    let dial = state
        .sandbox
        .host(spec.dial_from.as_deref().or(spec.host.as_deref()))
        .net();
    let watch = ProxyWatch {
        name: spec.name.clone(),
        netns: host.sock_diag().map(|d| d.netns()),
        port,
        listener: socket_inode(listener.as_raw_fd()).unwrap_or(0),
        upstream: Arc::new(Mutex::new(Vec::new())),
    };
    // Its connections upstream are made from `dial_from:`'s host when
    // set: recorded by inode, which names a socket in any namespace.
    let dial = Arc::new(Recording {
        net: dial,
        made: watch.upstream.clone(),
    });
    state.add_proxy(
        proxy::start(listener, dial, upstream, spec.faults.clone(), hosts),
        watch,
    );
    Ok(Judgement::pass(format!(
        "proxy `{}` on port {port} → {upstream}",
        spec.name
    )))
}

/// The loopback addresses a server listens on, when it listens on the
/// upstream port of some host but only on loopback addresses while the
/// upstream address is not one: a connection to the upstream address is
/// refused. `None` when the upstream address may be reached (or nothing
/// listens there yet: the proxy then dials when a client comes).
fn only_on_loopback(hosts: &[Arc<SockDiag>], upstream: SocketAddr) -> Option<String> {
    if upstream.ip().is_loopback() {
        return None;
    }
    let listening: Vec<SocketAddr> = hosts
        .iter()
        .filter_map(|diag| diag.listening(Some(upstream.port())).ok())
        .flatten()
        .map(|socket| socket.local)
        .collect();
    if listening.is_empty() || !listening.iter().all(|a| a.ip().is_loopback()) {
        return None;
    }
    let mut shown: Vec<String> = listening.iter().map(ToString::to_string).collect();
    shown.sort();
    shown.dedup();
    Some(shown.join(", "))
}

/// The proxy's network, noting the inode of every socket it makes (its
/// connections upstream), so that socklab can see when it carries one.
struct Recording {
    net: Arc<dyn Net>,
    made: Arc<Mutex<Vec<u64>>>,
}

impl Net for Recording {
    fn tcp_socket(&self, v6: bool) -> std::io::Result<tokio::net::TcpSocket> {
        let socket = self.net.tcp_socket(v6)?;
        if let Some(inode) = socket_inode(socket.as_raw_fd()) {
            self.made
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(inode);
        }
        Ok(socket)
    }
}
