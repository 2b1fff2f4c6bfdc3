//! `recv`: a socklab peer reads from its connection: exact bytes or a
//! count, bytes up to a pattern (`until`), one whole reply (`message`), or
//! everything up to the other side's close (`eof`). What is read is
//! consumed: the next `recv` sees the stream from there, as a program would.

use socklab_scenario::{EofCheck, RecvSpec};

use crate::check::Judgement;
use crate::check::bytes::{self, BeforeClose, Expected, WholeMatch};
use crate::facts::{MessageFact, ReadEnd, Received, UntilFact};
use crate::run::peer::Peer;
use crate::run::state::{StepContext, StepError};

pub async fn run(
    cx: &StepContext<'_>,
    peer: &str,
    spec: &RecvSpec,
) -> Result<Judgement, StepError> {
    let state = cx.state;
    let connection = state.peer(peer)?;
    let mut connection = connection.lock().await;
    match spec {
        RecvSpec::Exact(t) => {
            let expected = Expected::Text(state.render(t)?.into_bytes());
            Ok(read_exact(cx, &mut connection, &expected).await)
        }
        RecvSpec::ExactHex(b) => {
            Ok(read_exact(cx, &mut connection, &Expected::Hex(b.clone())).await)
        }
        RecvSpec::Bytes(n) => {
            Ok(read_exact(cx, &mut connection, &Expected::Count(*n as usize)).await)
        }
        RecvSpec::Until(re) => {
            let pattern = state.regex(re)?;
            let fact = loop {
                if let Some(caps) = pattern.captures(&connection.pending) {
                    let end = caps.get(0).map_or(0, |m| m.end());
                    state.capture(&pattern, &caps);
                    break UntilFact {
                        matched: Some(connection.take_pending(end)),
                        pending: Vec::new(),
                        end: ReadEnd::Data,
                    };
                }
                let end = connection.read_some(&cx.until).await;
                if end != ReadEnd::Data {
                    break UntilFact {
                        matched: None,
                        pending: connection.pending.clone(),
                        end,
                    };
                }
            };
            Ok(bytes::until(&pattern, &fact))
        }
        RecvSpec::Message(re) => {
            let pattern = state.regex(re)?;
            let first = if connection.pending.is_empty() {
                connection.read_some(&cx.until).await
            } else {
                ReadEnd::Data
            };
            let pattern =
                WholeMatch::new(&pattern).map_err(|e| StepError::Harness(e.to_string()))?;
            if first == ReadEnd::Data {
                connection.drain_ready().await;
            }
            let fact = MessageFact {
                first,
                reply: std::mem::take(&mut connection.pending),
            };
            let judgement = bytes::message(&pattern, &fact);
            if judgement.passed()
                && let Some(caps) = pattern.whole.captures(&fact.reply)
            {
                state.capture(&pattern.whole, &caps);
            }
            Ok(judgement)
        }
        RecvSpec::Eof(check) => {
            let expected = match check {
                None => BeforeClose::Anything,
                Some(EofCheck::Text(t)) => BeforeClose::Exactly(state.render(t)?.into_bytes()),
                Some(EofCheck::Regex(re)) => BeforeClose::Matching(
                    WholeMatch::new(&state.regex(re)?)
                        .map_err(|e| StepError::Harness(e.to_string()))?,
                ),
                Some(EofCheck::Fixture(f)) => BeforeClose::Fixture {
                    name: f.clone(),
                    bytes: state.fixture(f),
                },
                Some(EofCheck::Segments(f)) => BeforeClose::Segments {
                    name: f.clone(),
                    bytes: state.fixture(f),
                },
            };
            let end = connection.read_to_eof(&cx.until).await;
            let fact = Received {
                bytes: std::mem::take(&mut connection.pending),
                end,
            };
            if let (BeforeClose::Matching(pattern), ReadEnd::Eof) = (&expected, &fact.end)
                && let Some(caps) = pattern.whole.captures(&fact.bytes)
            {
                state.capture(&pattern.whole, &caps);
            }
            Ok(bytes::until_close(&expected, &fact))
        }
    }
}

/// Reads as many bytes as expected (fewer if the connection ends first).
async fn read_exact(cx: &StepContext<'_>, connection: &mut Peer, expected: &Expected) -> Judgement {
    let n = expected.len();
    let end = connection.read_at_least(n, &cx.until).await;
    let fact = Received {
        bytes: connection.take_pending(n),
        end,
    };
    bytes::exact(expected, &fact)
}
