//! `send: PEER` — send bytes on one of socklab's connections: text, a line,
//! hex bytes, a 32-bit integer, or a fixture's bytes.

use crate::model::{Action, Endian, SendData};
use crate::raw::{Param, ValueKind};

use super::definition::{Definition, Role, Subject};
use super::input::StepInput;

pub static DEFINITION: Definition = Definition {
    keyword: "send",
    subject: Subject::Peer,
    summary: "Send on a peer: `text:`, `line:`, `hex:`, `int32:` (with `endian:`), or `fixture:`.",
    params: &[
        Param::new("text", ValueKind::Text, "Send this text."),
        Param::new(
            "line",
            ValueKind::Text,
            "Send this text followed by a newline.",
        ),
        Param::new(
            "hex",
            ValueKind::Word,
            "Send these bytes, in hex, e.g. `\"02 00 00 00\"`.",
        ),
        Param::new(
            "int32",
            ValueKind::Integer,
            "Send a 32-bit integer (4 bytes).",
        ),
        Param::new(
            "endian",
            ValueKind::Word,
            "Byte order for `int32`: `host` (default), `little`, `big`.",
        ),
        Param::new("fixture", ValueKind::Word, "Send this fixture's bytes."),
        Param::new(
            "pieces",
            ValueKind::Range,
            "Send the bytes in pieces of these sizes (what is left goes in a last piece), each once the reader has read the one before: `[2]` sends a 4-byte int as 2 + 2 bytes, every time.",
        ),
    ],
    role: Role::Drives,
    example: "{ send: c, int32: 0 }",
    validate,
};

pub fn title(peer: &str, data: &SendData) -> String {
    match data {
        SendData::Text(t) => format!("send {:?} on `{peer}`", t.source),
        SendData::Hex(b) => format!("send {} bytes on `{peer}`", b.len()),
        SendData::Int32 { value, .. } => format!("send int {value} on `{peer}`"),
        SendData::Fixture(f) => format!("send fixture `{f}` on `{peer}`"),
    }
}

fn validate(step: &mut StepInput) -> Option<Action> {
    let peer = step.peer()?;
    let data = match (
        step.text("text"),
        step.text("line"),
        step.word("hex"),
        step.integer("int32"),
        step.word("fixture"),
    ) {
        (Some(t), None, None, None, None) => SendData::Text(step.scope.template(t)?),
        (None, Some(l), None, None, None) => SendData::Text(step.scope.template_with_newline(l)?),
        (None, None, Some(h), None, None) => SendData::Hex(step.scope.hex(h)?),
        (None, None, None, Some(n), None) => SendData::Int32 {
            value: match i32::try_from(*n.value()) {
                Ok(v) => v,
                Err(_) => {
                    step.scope.error(
                        n.loc(),
                        format!("`{}` does not fit in 32 bits", n.value()),
                        Some("int32 takes -2147483648..2147483647".into()),
                    );
                    return None;
                }
            },
            endian: endian(step)?,
        },
        (None, None, None, None, Some(f)) => SendData::Fixture(step.scope.fixture(f)?),
        _ => return step.one_of("send", &["text", "line", "hex", "int32", "fixture"]),
    };
    if let Some(endian) = step.word("endian")
        && !matches!(data, SendData::Int32 { .. })
    {
        step.scope
            .error(endian.loc(), "`endian` only applies to `int32`", None);
        return None;
    }
    let pieces = match step.range("pieces") {
        None => Vec::new(),
        Some(list) => {
            let sizes: Option<Vec<usize>> = list
                .value()
                .iter()
                .map(|n| usize::try_from(*n).ok().filter(|n| *n > 0))
                .collect();
            match sizes {
                Some(sizes) if !sizes.is_empty() => sizes,
                _ => {
                    step.scope.error(
                        list.loc(),
                        "`pieces` must list sizes ≥ 1",
                        Some("e.g. `pieces: [2]` (2 bytes, then the rest)".into()),
                    );
                    return None;
                }
            }
        }
    };
    Some(Action::Send { peer, data, pieces })
}

fn endian(step: &mut StepInput) -> Option<Endian> {
    match step.word("endian").map(|s| (s.value().as_str(), s.loc())) {
        None | Some(("host", _)) => Some(Endian::Host),
        Some(("little", _)) => Some(Endian::Little),
        Some(("big", _)) => Some(Endian::Big),
        Some((other, loc)) => {
            step.scope.error(
                loc,
                format!("`endian: {other}` is not a byte order"),
                Some("write `host` (default), `little` or `big`".into()),
            );
            None
        }
    }
}
