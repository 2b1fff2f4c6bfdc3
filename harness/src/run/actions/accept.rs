//! `accept`: a listening socklab peer waits for a program to connect.

use crate::check::{Judgement, connection};
use crate::run::state::{StepContext, StepError};

pub async fn run(cx: &StepContext<'_>, peer: &str) -> Result<Judgement, StepError> {
    let peer = cx.state.peer(peer)?;
    let fact = peer.lock().await.accept(&cx.until).await;
    Ok(connection::accepted(&fact))
}
