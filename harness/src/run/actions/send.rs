//! `send`: a socklab peer sends text, hex bytes, a 4-byte integer or a
//! fixture on its connection: as one message (one write, once the reader
//! has room), or in `pieces:` (each once the reader took the one before).

use socklab_reference::transcript::escape_bytes;
use socklab_reference::wire::ByteOrder;
use socklab_scenario::{Endian, SendData};

use crate::check::{Judgement, tail};
use crate::run::state::{StepContext, StepError};

pub async fn run(
    cx: &StepContext<'_>,
    peer: &str,
    data: &SendData,
    pieces: &[usize],
) -> Result<Judgement, StepError> {
    let state = cx.state;
    let bytes = match data {
        SendData::Text(t) => state.render(t)?.into_bytes(),
        SendData::Hex(b) => b.clone(),
        SendData::Int32 { value, endian } => {
            let order = match endian {
                Endian::Host => ByteOrder::Host,
                Endian::Little => ByteOrder::Little,
                Endian::Big => ByteOrder::Big,
            };
            order.i32_to_bytes(*value).to_vec()
        }
        SendData::Fixture(f) => state.fixture(f),
    };
    let connection = state.peer(peer)?;
    let mut connection = connection.lock().await;
    let how = if pieces.is_empty() {
        String::new()
    } else {
        format!(
            " (in pieces of {pieces:?} bytes, the rest last, each after the reader took the one before)"
        )
    };
    cx.note_input(format!(
        "sent on connection `{peer}`{how}: {}",
        tail(&escape_bytes(&bytes), 200)
    ));
    let reader = connection.reader(std::sync::Arc::new(state.sockets.all(&state.sandbox)));
    let sent = if pieces.is_empty() {
        connection.send(&bytes, reader.as_ref(), &cx.until).await
    } else {
        connection
            .send_in_pieces(&bytes, pieces, reader.as_ref(), &cx.until)
            .await
    };
    match sent {
        Ok(()) => Ok(Judgement::pass(format!("sent {} bytes", bytes.len()))),
        Err(e) => Ok(Judgement::fail(format!("sending on `{peer}` failed: {e}"))
            .observed(connection.render())),
    }
}
