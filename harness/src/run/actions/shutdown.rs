//! `shutdown`: a socklab peer half-closes its connection (sends FIN, keeps
//! reading).

use crate::check::Judgement;
use crate::run::state::{StepContext, StepError};

pub async fn run(cx: &StepContext<'_>, peer: &str) -> Result<Judgement, StepError> {
    let connection = cx.state.peer(peer)?;
    let mut connection = connection.lock().await;
    cx.note_input(format!("half-closed connection `{peer}` (FIN)"));
    Ok(match connection.shutdown_write().await {
        Ok(()) => Judgement::pass("half-closed"),
        Err(e) => Judgement::fail(format!("half-close failed: {e}")),
    })
}
