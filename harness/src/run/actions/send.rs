//! `send`: a socklab peer sends text, hex bytes, a 4-byte integer or a
//! fixture on its connection.

use socklab_reference::transcript::escape_bytes;
use socklab_reference::wire::ByteOrder;
use socklab_scenario::{Endian, SendData};

use crate::check::{Judgement, tail};
use crate::run::state::{StepContext, StepError};

pub async fn run(
    cx: &StepContext<'_>,
    peer: &str,
    data: &SendData,
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
    cx.note_input(format!(
        "sent on connection `{peer}`: {}",
        tail(&escape_bytes(&bytes), 200)
    ));
    match connection.send(&bytes, &cx.until).await {
        Ok(()) => Ok(Judgement::pass(format!("sent {} bytes", bytes.len()))),
        Err(e) => Ok(Judgement::fail(format!("sending on `{peer}` failed: {e}"))
            .observed(connection.render())),
    }
}
