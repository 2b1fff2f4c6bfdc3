//! `accept`: a listening socklab peer waits for a program to connect.

use crate::check::{Judgement, connection};
use crate::run::state::{StepContext, StepError};

pub async fn run(cx: &StepContext<'_>, peer: &str) -> Result<Judgement, StepError> {
    let peer = cx.state.peer(peer)?;
    let mut peer = peer.lock().await;
    let fact = peer.accept(&cx.until).await;
    cx.state.note_peer_sockets(&peer);
    Ok(connection::accepted(&fact))
}
