//! `silence`: nothing arrives on a connection for a while (no data, no
//! close).

use std::time::Duration;

use tokio::time::Instant;

use crate::check::{Judgement, bytes};
use crate::facts::SilenceFact;
use crate::run::state::{StepContext, StepError};

pub async fn run(cx: &StepContext<'_>, peer: &str, hold: Duration) -> Result<Judgement, StepError> {
    let connection = cx.state.peer(peer)?;
    let mut connection = connection.lock().await;
    let quiet = connection
        .silent(&cx.until.with_deadline(Instant::now() + hold))
        .await;
    let fact = if let Some(until) = quiet {
        SilenceFact::Quiet(until)
    } else {
        SilenceFact::Broken {
            arrived: std::mem::take(&mut connection.pending),
            closed: connection.eof,
        }
    };
    Ok(bytes::silence(hold, &fact))
}
