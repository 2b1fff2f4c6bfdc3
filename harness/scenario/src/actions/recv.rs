//! `recv: PEER` — receive on one of socklab's connections and check what
//! arrives: exact bytes, a count, a regex to read until, the next message,
//! or everything up to the close (as text, regex, fixture, or Lab 3 file
//! segments).

use crate::model::{Action, EofCheck, RecvSpec};
use crate::raw::{Param, ValueKind};

use super::definition::{Definition, Role, Subject};
use super::input::StepInput;

pub static DEFINITION: Definition = Definition {
    keyword: "recv",
    subject: Subject::Peer,
    summary: "Receive on a peer: `text:`/`hex:` (exact), `bytes:` N, `until:` regex, `message:` regex (the next message, whole), `eof: true` (with optional `text:`/`regex:`/`fixture:`/`segments:`).",
    params: &[
        Param::new(
            "text",
            ValueKind::Text,
            "Exactly these bytes arrive next; with `eof: true`, everything up to the close is this text.",
        ),
        Param::new(
            "hex",
            ValueKind::Word,
            "Exactly these bytes, in hex, arrive next, e.g. `\"02 00 00 00\"`.",
        ),
        Param::new("bytes", ValueKind::Size, "Read exactly this many bytes."),
        Param::new(
            "until",
            ValueKind::Regex,
            "Read until this regex matches; named groups are captured.",
        ),
        Param::new(
            "message",
            ValueKind::Regex,
            "The next message (one arrival, whole) must match this regex; named groups are captured.",
        ),
        Param::new(
            "eof",
            ValueKind::Flag,
            "`true`: read to the close (then optionally check it with `text:`, `regex:`, `fixture:` or `segments:`).",
        ),
        Param::new(
            "regex",
            ValueKind::Regex,
            "With `eof: true`: everything up to the close matches this regex; named groups are captured.",
        ),
        Param::new(
            "fixture",
            ValueKind::Word,
            "With `eof: true`: everything up to the close is this fixture's bytes.",
        ),
        Param::new(
            "segments",
            ValueKind::Word,
            "With `eof: true`: the data is 260-byte Lab 3 file segments carrying this fixture.",
        ),
    ],
    role: Role::Check,
    example: "{ recv: c, message: 'New number generated: (?P<n>[0-9]+)' }",
    validate,
};

pub fn title(peer: &str, spec: &RecvSpec) -> String {
    match spec {
        RecvSpec::Exact(t) => format!("`{peer}` receives {:?}", t.source),
        RecvSpec::ExactHex(b) => format!("`{peer}` receives {} exact bytes", b.len()),
        RecvSpec::Bytes(n) => format!("`{peer}` receives {n} bytes"),
        RecvSpec::Until(r) => format!("`{peer}` receives /{}/", r.template.source),
        RecvSpec::Message(r) => format!("`{peer}` receives a reply /{}/", r.template.source),
        RecvSpec::Eof(_) => format!("`{peer}` receives data and the close"),
    }
}

const READS: &[&str] = &["text", "hex", "bytes", "until", "message", "eof"];

fn validate(step: &mut StepInput) -> Option<Action> {
    let peer = step.peer()?;
    let spec = if step.is_set("eof") {
        to_the_close(step)?
    } else {
        next_bytes(step)?
    };
    Some(Action::Recv { peer, spec })
}

/// `eof: true`: everything up to the close, optionally checked.
fn to_the_close(step: &mut StepInput) -> Option<RecvSpec> {
    let check = match (
        step.text("text"),
        step.regex("regex"),
        step.word("fixture"),
        step.word("segments"),
    ) {
        (None, None, None, None) => None,
        (Some(t), None, None, None) => Some(EofCheck::Text(step.scope.template(t)?)),
        (None, Some(re), None, None) => Some(EofCheck::Regex(step.scope.regex(re)?)),
        (None, None, Some(f), None) => Some(EofCheck::Fixture(step.scope.fixture(f)?)),
        (None, None, None, Some(f)) => Some(EofCheck::Segments(step.scope.fixture(f)?)),
        _ => {
            return step.one_of("recv with eof", &["text", "regex", "fixture", "segments"]);
        }
    };
    if step.word("hex").is_some()
        || step.size("bytes").is_some()
        || step.regex("until").is_some()
        || step.regex("message").is_some()
    {
        return step.one_of("recv", READS);
    }
    Some(RecvSpec::Eof(check))
}

/// Without `eof`: the next bytes.
fn next_bytes(step: &mut StepInput) -> Option<RecvSpec> {
    if step.regex("regex").is_some()
        || step.word("fixture").is_some()
        || step.word("segments").is_some()
    {
        step.scope.error(
            step.loc(),
            "`regex`, `fixture` and `segments` on `recv` need `eof: true`",
            Some(
                "to match the next message use `message:`; to read until a pattern use `until:`"
                    .into(),
            ),
        );
        return None;
    }
    Some(
        match (
            step.text("text"),
            step.word("hex"),
            step.size("bytes"),
            step.regex("until"),
            step.regex("message"),
        ) {
            (Some(t), None, None, None, None) => RecvSpec::Exact(step.scope.template(t)?),
            (None, Some(h), None, None, None) => RecvSpec::ExactHex(step.scope.hex(h)?),
            (None, None, Some(n), None, None) => RecvSpec::Bytes(*n.value()),
            (None, None, None, Some(re), None) => RecvSpec::Until(step.scope.regex(re)?),
            (None, None, None, None, Some(re)) => RecvSpec::Message(step.scope.regex(re)?),
            _ => return step.one_of("recv", READS),
        },
    )
}
