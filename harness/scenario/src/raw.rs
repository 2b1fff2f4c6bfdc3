//! The format as written: serde types that mirror the YAML one to one.
//!
//! These types are deliberately loose where YAML is loose (every step is one
//! flat mapping) and strict where typos hide (`deny_unknown_fields`
//! everywhere). [`crate::validate`] turns them into the typed
//! [`crate::model`]. The JSON Schema for editors is generated from these types,
//! so the doc comments here are what an editor shows on hover.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::spanned::{S, Text};

/// A scenario file: a mapping whose `scenarios:` key holds the list of scenarios.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "socklab scenario file")]
pub struct RawScenarioFile {
    /// The scenarios in this file, run independently of each other.
    pub scenarios: Vec<S<RawScenario>>,
}

/// One scenario: hosts, programs and peers, and the steps that drive them.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    /// Unique name within the suite, e.g. `lottery/six-distinct-numbers`.
    pub name: S<String>,
    /// What the scenario checks, shown to students.
    pub description: Option<String>,
    /// Points for passing every scored check (partial credit by check weight). Default 1.
    pub points: Option<S<f64>>,
    /// Observe-only: run and report, never score (for the lab's "explain what happens" questions).
    pub observe: Option<bool>,
    /// Deadline for the whole scenario, e.g. `30s`. Default 60s.
    pub timeout: Option<S<String>>,
    /// Hosts, each with its own network namespace and address. Default: one host `local`.
    pub hosts: Option<Vec<S<String>>>,
    /// Ports by name: a number (fixed, e.g. 13) or `auto` (a free one).
    pub ports: Option<BTreeMap<String, S<Text>>>,
    /// Files created before the scenario starts, by name.
    pub fixtures: Option<BTreeMap<String, S<RawFixture>>>,
    /// Run the scenario once per combination of these values; `{{matrix.AXIS}}` in steps.
    pub matrix: Option<BTreeMap<String, Vec<String>>>,
    /// Matrix combinations to leave out, e.g. `[{server: reference, client: reference}]`.
    pub exclude: Option<Vec<BTreeMap<String, String>>>,
    /// Free-form labels for `--only` filtering and reports.
    pub tags: Option<Vec<String>>,
    /// Course options this scenario is for, e.g. `{ echo_mode: sum }`: it is part of
    /// the suite only when every listed option of the lab manifest has that value.
    pub when: Option<S<BTreeMap<String, S<Text>>>>,
    /// The steps, run in order.
    pub steps: Vec<S<RawStep>>,
}

/// A file made before the scenario runs. Exactly one of `text`, `hex`, `random`, `zeros`, `lines`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawFixture {
    /// The file's content as text.
    pub text: Option<String>,
    /// The file's content as hex bytes, e.g. `"00 01 ff"`.
    pub hex: Option<String>,
    /// This many random bytes (seeded by `seed`).
    pub random: Option<S<u64>>,
    /// This many zero bytes.
    pub zeros: Option<S<u64>>,
    /// This many lines of random printable text (seeded), each `width` characters plus `\n`.
    pub lines: Option<S<u64>>,
    /// Characters per line for `lines` (default 60).
    pub width: Option<S<u64>>,
    /// Seed for `random` and `lines` (default 0): same seed, same bytes.
    pub seed: Option<u64>,
    /// `text`/`hex`: the content this many times over, e.g. `{ text: "2 5\n", times: 500 }`.
    pub times: Option<S<u64>>,
}

/// Fault injection on one direction of a proxied connection.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawFault {
    /// Split the stream into pieces of this size: `3`, or `[1, 4]` for random sizes in that range.
    pub slice: Option<S<Vec<u64>>>,
    /// Wait this long before forwarding each piece, e.g. `5ms`.
    pub delay: Option<S<String>>,
    /// Throttle to this many bytes per second.
    pub rate: Option<S<u64>>,
    /// Reset the connection (RST) after forwarding this many bytes.
    pub reset_after: Option<S<u64>>,
    /// Close the connection (FIN) after forwarding this many bytes.
    pub close_after: Option<S<u64>>,
}

/// Faults per direction for a `proxy` step.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawFaults {
    /// Faults on bytes flowing from the upstream server to the connecting client.
    pub to_client: Option<RawFault>,
    /// Faults on bytes flowing from the client to the upstream server.
    pub to_server: Option<RawFault>,
    /// Seed for random slice sizes (default 0).
    pub seed: Option<u64>,
}

/// One step. Exactly one action key (`start`, `expect`, `send`, ...) names the
/// step and its subject; the other keys are that action's parameters.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawStep {
    // ---- actions on programs ----
    /// Start a program under this name (`program:`, `args:`, `from:`, `host:`, `stdin:`, `in_process:`).
    pub start: Option<S<String>>,
    /// Wait until the program listens on `port:` (read from the kernel, not guessed).
    pub wait_listen: Option<S<String>>,
    /// Type into the program's stdin: `text:`, `line:`, `fixture:` or `eof: true`.
    #[serde(rename = "type")]
    pub type_: Option<S<String>>,
    /// Wait for the program's output to show `text:` or match `regex:` (named groups are captured).
    pub expect: Option<S<String>>,
    /// Wait for the program to exit; check `code:` (a number, `nonzero` or `any`) or `signal:`.
    pub exit: Option<S<String>>,
    /// Check the program is still running (optionally for a while: `for:`).
    pub running: Option<S<String>>,
    /// Check the program's child processes: `count:`/`min:`/`max:` and `zombies:` (at most), waiting up to `within:`.
    pub children: Option<S<String>>,
    /// Stop the program (SIGTERM, then SIGKILL) or send it `signal:`.
    pub stop: Option<S<String>>,
    /// Check everything the program printed so far: `text:` (equal), `contains:`, `not_contains:`, `regex:`, `fixture:`.
    pub output: Option<S<String>>,
    // ---- actions on peers ----
    /// Start a fault-injecting proxy under this name, listening on `port:` and forwarding to `upstream:` with `faults:`.
    pub proxy: Option<S<String>>,
    /// Open a TCP connection under this peer name `to:` an address (or expect `refused: true`).
    pub connect: Option<S<String>>,
    /// Listen on `port:` as this peer (then `accept:`).
    pub listen: Option<S<String>>,
    /// Accept one connection on a listening peer.
    pub accept: Option<S<String>>,
    /// Send on a peer: `text:`, `line:`, `hex:`, `int32:` (with `endian:`), or `fixture:`.
    pub send: Option<S<String>>,
    /// Receive on a peer: `text:`/`hex:` (exact), `bytes:` N, `until:` regex, `message:` regex (the next message, whole), `eof: true` (with optional `text:`/`regex:`/`fixture:`/`segments:`).
    pub recv: Option<S<String>>,
    /// Expect nothing to arrive on a peer `for:` a duration.
    pub silence: Option<S<String>>,
    /// Half-close a peer (shutdown its sending side).
    pub shutdown: Option<S<String>>,
    /// Close a peer.
    pub close: Option<S<String>>,
    // ---- other checks and control ----
    /// Check a file: `matches:` a fixture (SHA-256), or `exists:`.
    pub file: Option<S<Text>>,
    /// Check captured values of a variable: `count:`, `distinct:`, `range:`, `equals:`.
    pub assert: Option<S<String>>,
    /// Run `steps:` this many times.
    pub repeat: Option<S<u32>>,
    /// Run these lists of steps at the same time.
    pub concurrently: Option<S<Vec<Vec<S<RawStep>>>>>,

    // ---- parameters ----
    /// `start`: the program, a name from the lab manifest or a reference program name.
    pub program: Option<S<String>>,
    /// `start`: `submission` (default) or `reference`. May be `{{matrix.AXIS}}`.
    pub from: Option<S<String>>,
    /// `start`: run a reference program inside socklab (its bytes are recorded).
    pub in_process: Option<S<bool>>,
    /// `start`/`connect`/`listen`/`proxy`: the host to run on (default: the first host).
    pub host: Option<S<String>>,
    /// `start`: command-line arguments (templated).
    pub args: Option<Vec<S<Text>>>,
    /// `start`: `pty` (default, so prompts without newline arrive), `pipe`, `null`,
    /// or `{ fixture: NAME }` (the fixture file is the program's stdin).
    #[serde(default, deserialize_with = "present_stdin")]
    pub stdin: Option<S<RawStdin>>,
    /// `wait_listen`/`listen`/`proxy`: the port, usually `{{ports.NAME}}`.
    pub port: Option<S<Text>>,
    /// `connect`: `HOST:PORT`, e.g. `{{hosts.server}}:{{ports.lottery}}`.
    pub to: Option<S<Text>>,
    /// `proxy`: where to forward, `HOST:PORT`.
    pub upstream: Option<S<Text>>,
    /// `proxy`: faults per direction.
    pub faults: Option<RawFaults>,
    /// `connect`: expect the connection to be refused.
    pub refused: Option<S<bool>>,
    /// Text to type/send/expect/compare.
    pub text: Option<S<Text>>,
    /// `type`/`send`: text followed by a newline.
    pub line: Option<S<Text>>,
    /// `send`/`recv`: bytes in hex, e.g. `"02 00 00 00"`.
    pub hex: Option<S<String>>,
    /// `send`: a 32-bit integer (4 bytes).
    pub int32: Option<S<i64>>,
    /// `send`: byte order for `int32`: `host` (default), `little`, `big`.
    pub endian: Option<S<String>>,
    /// A fixture's bytes (`type`/`send`), or the expected content (`recv`/`output`).
    pub fixture: Option<S<String>>,
    /// A regular expression; named groups `(?P<name>...)` are captured into `{{vars.name}}`.
    pub regex: Option<S<String>>,
    /// `recv`: read until this regex matches.
    pub until: Option<S<String>>,
    /// `recv`: the next message (one arrival, whole) must match this regex.
    pub message: Option<S<String>>,
    /// `recv`: read exactly this many bytes.
    pub bytes: Option<S<u64>>,
    /// `recv`: read to end of stream; `type`: end the program's input.
    pub eof: Option<S<bool>>,
    /// `recv` with `eof`: the data must be 260-byte Lab 3 file segments carrying this fixture.
    pub segments: Option<S<String>>,
    /// `expect`/`output`: `stdout` (default) or `stderr`; `output` also takes `any` (stdout or stderr).
    pub stream: Option<S<String>>,
    /// `exit`: expected exit code: a number, `nonzero` or `any`.
    pub code: Option<S<Text>>,
    /// `exit`: expected terminating signal; `stop`: signal to send (e.g. `SIGINT`).
    pub signal: Option<S<String>>,
    /// `children`: exact number of children; `assert`: number of captured values.
    pub count: Option<S<u32>>,
    /// `children`: at least this many.
    pub min: Option<S<u32>>,
    /// `children`: at most this many.
    pub max: Option<S<u32>>,
    /// `children`: at most this many zombie children.
    pub zombies: Option<S<u32>>,
    /// `running`/`silence`: how long the condition must hold, e.g. `500ms`.
    #[serde(rename = "for")]
    pub for_: Option<S<String>>,
    /// `file`: the fixture whose SHA-256 the file must have.
    pub matches: Option<S<String>>,
    /// `file`: whether the file must exist.
    pub exists: Option<S<bool>>,
    /// `output`: must contain this text.
    pub contains: Option<S<Text>>,
    /// `output`: must not contain this text.
    pub not_contains: Option<S<Text>>,
    /// `assert`: the values must all be different.
    pub distinct: Option<S<bool>>,
    /// `assert`: every value is a number in `[min, max]`.
    pub range: Option<S<Vec<i64>>>,
    /// `assert`: all values, space-separated, must equal this (templated).
    pub equals: Option<S<Text>>,
    /// `assert`: every value is a `ctime()` time (`Tue Sep  5 11:04:47 2017`) within this of the grader's clock, e.g. `5s`.
    pub near_now: Option<S<String>>,
    /// `repeat`: the steps to repeat.
    pub steps: Option<Vec<S<RawStep>>>,

    // ---- about the check ----
    /// A short description of what this step checks, shown in reports.
    pub title: Option<S<String>>,
    /// Shown to the student when this step fails: the likely mistake.
    pub hint: Option<S<String>>,
    /// Share of the scenario's points for this check (default 1; 0 for `wait_listen` and `connect`, which are prerequisites).
    pub weight: Option<S<f64>>,
    /// Report what happened, but never fail or score.
    pub observe: Option<S<bool>>,
    /// A failure does not stop the scenario (later steps still run).
    pub soft: Option<S<bool>>,
    /// Deadline for this step, e.g. `2s` (default 5s).
    pub within: Option<S<String>>,
}

/// `stdin:` when the key is there at all, a YAML null included (see
/// [`RawStdin`]'s visitor).
fn present_stdin<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<S<RawStdin>>, D::Error> {
    S::<RawStdin>::deserialize(deserializer).map(Some)
}

/// A program's stdin: a mode name, or a fixture file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawStdin {
    /// `pty`, `pipe` or `null`.
    Mode(String),
    /// `{ fixture: NAME }`.
    Fixture(String),
}

impl<'de> Deserialize<'de> for RawStdin {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StdinVisitor;
        impl<'de> serde::de::Visitor<'de> for StdinVisitor {
            type Value = RawStdin;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("`pty`, `pipe`, `null` or `{ fixture: NAME }`")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RawStdin, E> {
                Ok(RawStdin::Mode(v.to_string()))
            }
            // `stdin: null` unquoted is YAML's null: it means the null mode,
            // not "no stdin key".
            fn visit_unit<E: serde::de::Error>(self) -> Result<RawStdin, E> {
                Ok(RawStdin::Mode("null".to_string()))
            }
            fn visit_none<E: serde::de::Error>(self) -> Result<RawStdin, E> {
                Ok(RawStdin::Mode("null".to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<RawStdin, A::Error> {
                let mut fixture = None;
                while let Some(key) = map.next_key::<String>()? {
                    if key != "fixture" {
                        return Err(serde::de::Error::unknown_field(&key, &["fixture"]));
                    }
                    if fixture.is_some() {
                        return Err(serde::de::Error::duplicate_field("fixture"));
                    }
                    fixture = Some(map.next_value::<String>()?);
                }
                fixture
                    .map(RawStdin::Fixture)
                    .ok_or_else(|| serde::de::Error::missing_field("fixture"))
            }
        }
        deserializer.deserialize_any(StdinVisitor)
    }
}

impl JsonSchema for RawStdin {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Stdin".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "`pty` (default), `pipe`, `null`, or `{ fixture: NAME }` to read a fixture file as stdin.",
            "anyOf": [
                { "type": "string", "enum": ["pty", "pipe", "null"] },
                { "type": "null" },
                {
                    "type": "object",
                    "properties": { "fixture": { "type": "string", "description": "A fixture of this scenario." } },
                    "required": ["fixture"],
                    "additionalProperties": false
                }
            ]
        })
    }
}
