//! `close`: a socklab peer closes its connection (or stops listening).

use crate::check::Judgement;
use crate::run::state::{StepContext, StepError};

pub async fn run(cx: &StepContext<'_>, peer: &str) -> Result<Judgement, StepError> {
    let connection = cx.state.peer(peer)?;
    let hosts = cx.state.sockets.all(&cx.state.sandbox);
    let mut connection = connection.lock().await;
    let inodes = connection.socket_inodes();
    connection.close(&hosts);
    cx.state.note_closed_sockets(&inodes);
    cx.note_input(format!("closed connection `{peer}`"));
    Ok(Judgement::pass("closed"))
}
