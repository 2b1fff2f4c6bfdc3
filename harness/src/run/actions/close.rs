//! `close`: a socklab peer closes its connection (or stops listening).

use crate::check::Judgement;
use crate::run::state::{StepContext, StepError};

pub async fn run(cx: &StepContext<'_>, peer: &str) -> Result<Judgement, StepError> {
    let connection = cx.state.peer(peer)?;
    connection.lock().await.close();
    cx.note_input(format!("closed connection `{peer}`"));
    Ok(Judgement::pass("closed"))
}
