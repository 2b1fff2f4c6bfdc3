//! `proxy: NAME` — start socklab's fault-injecting proxy between a client
//! and a server: slices, delays, rate limits, closes and resets, per
//! direction, seeded.

use crate::model::{Action, Fault, Faults, ProxySpec};
use crate::raw::{Param, RawFault, RawFaults, ValueKind};

use super::definition::{Definition, Role, Subject};
use super::input::StepInput;
use super::scope::Scope;

pub static DEFINITION: Definition = Definition {
    keyword: "proxy",
    subject: Subject::NewPeer,
    summary: "Start socklab's proxy under this name, listening on `port:` and forwarding to `upstream:`: whole messages at a pace the reader keeps up with, or, with `faults:`, split, delayed, throttled or cut.",
    params: &[
        Param::new(
            "port",
            ValueKind::Text,
            "The port the proxy listens on, usually `{{ports.NAME}}`.",
        ),
        Param::new(
            "upstream",
            ValueKind::Text,
            "Where to forward, `HOST:PORT`.",
        ),
        Param::new(
            "host",
            ValueKind::Word,
            "The host the proxy listens on (default: the first host).",
        ),
        Param::new(
            "dial_from",
            ValueKind::Word,
            "The host the proxy connects to `upstream:` from (default: `host:`). With the server's host as `host:` and the client's as `dial_from:`, a server bound to 127.0.0.1 or a client dialling 127.0.0.1 still fails.",
        ),
        Param::new("faults", ValueKind::Faults, "Faults per direction."),
    ],
    role: Role::Drives,
    example: r#"{ proxy: slicer, port: "{{ports.proxy}}", upstream: "127.0.0.1:{{ports.ft}}", faults: { to_client: { slice: [1, 7], delay: 1ms } } }"#,
    validate,
};

pub fn title(spec: &ProxySpec) -> String {
    format!("start proxy `{}`", spec.name)
}

fn validate(step: &mut StepInput) -> Option<Action> {
    let name = step.subject_word()?.value().clone();
    let faults = step
        .faults("faults")
        .map(|f| faults(f.value(), &mut step.scope))
        .unwrap_or_default();
    Some(Action::Proxy(ProxySpec {
        name,
        port: step.required_template("port", "`port: \"{{ports.NAME}}\"`")?,
        upstream: step.required_template(
            "upstream",
            "`upstream: \"{{hosts.server}}:{{ports.NAME}}\"`",
        )?,
        host: step.scope.host(step.word("host"))?,
        dial_from: step.scope.host(step.word("dial_from"))?,
        faults,
    }))
}

/// Faults as written; a bad one is reported (and the step's scenario fails
/// to load), the rest read.
fn faults(f: &RawFaults, scope: &mut Scope) -> Faults {
    Faults {
        to_client: f
            .to_client
            .as_ref()
            .map(|x| fault(x, scope))
            .unwrap_or_default(),
        to_server: f
            .to_server
            .as_ref()
            .map(|x| fault(x, scope))
            .unwrap_or_default(),
        seed: f.seed.unwrap_or(0),
    }
}

fn fault(f: &RawFault, scope: &mut Scope) -> Fault {
    let slice = f.slice.as_ref().and_then(|s| match s.value().as_slice() {
        [n] if *n > 0 => Some((*n, *n)),
        [a, b] if *a > 0 && a <= b => Some((*a, *b)),
        _ => {
            scope.error(
                s.loc(),
                "`slice` must be a size ≥ 1 or `[MIN, MAX]` with 1 ≤ MIN ≤ MAX",
                Some("e.g. `slice: [1]` or `slice: [1, 4]`".into()),
            );
            None
        }
    });
    let frame = f.frame.as_ref().and_then(|n| {
        if *n.value() == 0 {
            scope.error(
                n.loc(),
                "`frame` must be a size ≥ 1",
                Some("e.g. `frame: 260` for file segments".into()),
            );
            None
        } else {
            Some(*n.value())
        }
    });
    Fault {
        frame,
        slice,
        delay: f.delay.as_ref().and_then(|d| scope.duration(d)),
        rate: f.rate.as_ref().map(|r| *r.value()),
        reset_after: f.reset_after.as_ref().map(|r| *r.value()),
        close_after: f.close_after.as_ref().map(|r| *r.value()),
    }
}
