//! `accept`: a listening socklab peer waits for a program to connect.

use crate::check::{Judgement, connection};
use crate::run::state::{StepContext, StepError};

pub async fn run(cx: &StepContext<'_>, peer: &str) -> Result<Judgement, StepError> {
    let state = cx.state;
    let peer = state.peer(peer)?;
    let mut peer = peer.lock().await;
    let fact = peer.accept(&cx.until).await;
    // The program that connected: the holder of the socket at the other end.
    peer.counterpart = peer
        .addresses()
        .and_then(|(ours, theirs)| state.owner_of_socket(theirs, ours));
    state.note_peer_sockets(&peer);
    Ok(connection::accepted(&fact))
}
