//! `connect`: a socklab peer opens a TCP connection to an address (from a
//! host of the scenario); with `refused: true` the scenario expects no one
//! to be listening.

use socklab_scenario::Template;

use crate::check::{Judgement, connection};
use crate::facts::{ConnectFact, ConnectOutcome};
use crate::run::peer::Peer;
use crate::run::state::{StepContext, StepError};

pub async fn run(
    cx: &StepContext<'_>,
    peer: &str,
    to: &Template,
    host: Option<&str>,
    refused: bool,
) -> Result<Judgement, StepError> {
    let state = cx.state;
    let addr = state.address(to)?;
    let net = state.sandbox.host(host).net();
    let socket = net
        .tcp_socket(addr.is_ipv6())
        .map_err(|e| StepError::Harness(format!("cannot create a socket: {e}")))?;
    let outcome = match cx.until.wait(socket.connect(addr)).await {
        Ok(Ok(stream)) => {
            // A connection that should have been refused is not kept.
            if !refused {
                let _ = stream.set_nodelay(true);
                let mut connected = Peer::connected(peer, stream);
                // The program that will answer: the holder of the listening
                // socket the connection reached.
                connected.counterpart = state.owner_of_listener_anywhere(addr.port());
                state.add_peer(connected);
            }
            ConnectOutcome::Connected
        }
        Ok(Err(e)) => ConnectOutcome::Failed {
            refused: e.kind() == std::io::ErrorKind::ConnectionRefused,
            error: e.to_string(),
        },
        Err(why) => ConnectOutcome::Expired(why),
    };
    Ok(connection::connected(
        refused,
        &ConnectFact { addr, outcome },
    ))
}
