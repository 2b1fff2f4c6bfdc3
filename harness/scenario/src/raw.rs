//! The format as written: serde types that mirror the YAML one to one.
//!
//! These types are deliberately loose where YAML is loose (every step is one
//! flat mapping, read key by key as [`RawStep`]) and strict where typos hide
//! (`deny_unknown_fields` everywhere else). [`crate::validate`] turns them
//! into the typed [`crate::model`]. The JSON Schema for editors is generated
//! from these types, so the doc comments here are what an editor shows on
//! hover; a step's keys are documented by each action in [`crate::actions`].
//!
//! Layer: above [`crate::spanned`]; below the action table, which reads and
//! describes steps.

use std::collections::BTreeMap;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::Deserialize;
use serde::de::MapAccess;

use crate::spanned::{Loc, S, Text};

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
    /// The messages of this direction are records of this many bytes (e.g. `260`, a file segment): each is forwarded in one write. Without it, a message is what arrived in one read.
    pub frame: Option<S<u64>>,
    /// Split every message into pieces of this size: `3`, or `[1, 4]` for random sizes in that range; each piece is forwarded once the reader has taken the one before.
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

/// One step as written: its keys in order, each with its value.
///
/// A step is one flat mapping whose action key (`start`, `send`, ...) names
/// what it does; which keys exist, and what kind of value each holds, is
/// decided by the action table in [`crate::actions`], which also implements
/// this type's `Deserialize` and `JsonSchema`. Keys no action knows are kept
/// (with their place) so that validation, which knows the step's action, can
/// say which keys that action takes.
#[derive(Debug, Default)]
pub struct RawStep {
    /// The known keys in the order written.
    pub entries: Vec<RawEntry>,
    /// Keys that are neither an action, a parameter nor a step setting.
    pub unknown: Vec<S<String>>,
}

/// One known key of a step and its value.
#[derive(Debug)]
pub struct RawEntry {
    /// The key, as spelt in the action table.
    pub key: &'static str,
    /// Where the key itself is written.
    pub key_loc: Loc,
    pub value: RawValue,
}

impl RawStep {
    /// The value of `key`, if the step has it (a YAML null counts as absent).
    pub fn get(&self, key: &str) -> Option<&RawValue> {
        self.entries.iter().find(|e| e.key == key).map(|e| &e.value)
    }
}

/// One key a step may have: its name, the kind of its value, and the doc
/// text editors show for it (declared by the actions and step settings).
#[derive(Debug)]
pub struct Param {
    pub key: &'static str,
    pub kind: ValueKind,
    pub doc: &'static str,
}

impl Param {
    pub const fn new(key: &'static str, kind: ValueKind, doc: &'static str) -> Param {
        Param { key, kind, doc }
    }
}

/// The shapes a step's values take. Every key has one kind wherever it is
/// used, so a step can be read before its action is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// A plain string: a name, a mode, hex digits.
    Word,
    /// A regular expression (its named groups are captured).
    Regex,
    /// A duration such as `500ms`.
    Duration,
    /// A scalar kept as text, with placeholders.
    Text,
    /// A list of texts (`args`).
    TextList,
    /// `true` or `false`.
    Flag,
    /// A whole number ≥ 0 that fits in 32 bits.
    Count,
    /// A whole number of bytes.
    Size,
    /// A whole number, maybe negative.
    Integer,
    /// Any number (`weight`).
    Number,
    /// A list of whole numbers (`range: [1, 45]`).
    Range,
    /// A program's stdin: a mode or `{ fixture: NAME }`.
    Stdin,
    /// Faults per direction of a proxy.
    Faults,
    /// A list of steps.
    Steps,
    /// Lists of steps run at the same time.
    Branches,
}

/// A step's value, read according to its key's [`ValueKind`].
#[derive(Debug)]
pub enum RawValue {
    Word(S<String>),
    Regex(S<String>),
    Duration(S<String>),
    Text(S<Text>),
    TextList(S<Vec<S<Text>>>),
    Flag(S<bool>),
    Count(S<u32>),
    Size(S<u64>),
    Integer(S<i64>),
    Number(S<f64>),
    Range(S<Vec<i64>>),
    Stdin(S<RawStdin>),
    /// Boxed: far larger than the other values.
    Faults(Box<S<RawFaults>>),
    Steps(S<Vec<S<RawStep>>>),
    Branches(S<Vec<Vec<S<RawStep>>>>),
}

impl ValueKind {
    /// Reads the next map value as this kind. `None`: the value is a YAML
    /// null, which counts as leaving the key out (but `stdin: null` is the
    /// null mode).
    pub fn read<'de, A: MapAccess<'de>>(self, map: &mut A) -> Result<Option<RawValue>, A::Error> {
        Ok(match self {
            ValueKind::Word => map.next_value::<Option<_>>()?.map(RawValue::Word),
            ValueKind::Regex => map.next_value::<Option<_>>()?.map(RawValue::Regex),
            ValueKind::Duration => map.next_value::<Option<_>>()?.map(RawValue::Duration),
            ValueKind::Text => map.next_value::<Option<_>>()?.map(RawValue::Text),
            ValueKind::TextList => map.next_value::<Option<_>>()?.map(RawValue::TextList),
            ValueKind::Flag => map.next_value::<Option<_>>()?.map(RawValue::Flag),
            ValueKind::Count => map.next_value::<Option<_>>()?.map(RawValue::Count),
            ValueKind::Size => map.next_value::<Option<_>>()?.map(RawValue::Size),
            ValueKind::Integer => map.next_value::<Option<_>>()?.map(RawValue::Integer),
            ValueKind::Number => map.next_value::<Option<_>>()?.map(RawValue::Number),
            ValueKind::Range => map.next_value::<Option<_>>()?.map(RawValue::Range),
            ValueKind::Stdin => Some(RawValue::Stdin(map.next_value()?)),
            ValueKind::Faults => map
                .next_value::<Option<_>>()?
                .map(|f| RawValue::Faults(Box::new(f))),
            ValueKind::Steps => map.next_value::<Option<_>>()?.map(RawValue::Steps),
            ValueKind::Branches => map.next_value::<Option<_>>()?.map(RawValue::Branches),
        })
    }

    /// The JSON Schema of a value of this kind (without a description).
    pub fn schema(self, generator: &mut SchemaGenerator) -> Schema {
        match self {
            ValueKind::Word | ValueKind::Regex | ValueKind::Duration => {
                generator.subschema_for::<Option<String>>()
            }
            ValueKind::Text => generator.subschema_for::<Option<Text>>(),
            ValueKind::TextList => generator.subschema_for::<Option<Vec<S<Text>>>>(),
            ValueKind::Flag => generator.subschema_for::<Option<bool>>(),
            ValueKind::Count => generator.subschema_for::<Option<u32>>(),
            ValueKind::Size => generator.subschema_for::<Option<u64>>(),
            ValueKind::Integer => generator.subschema_for::<Option<i64>>(),
            ValueKind::Number => generator.subschema_for::<Option<f64>>(),
            ValueKind::Range => generator.subschema_for::<Option<Vec<i64>>>(),
            ValueKind::Stdin => generator.subschema_for::<Option<RawStdin>>(),
            ValueKind::Faults => generator.subschema_for::<Option<RawFaults>>(),
            ValueKind::Steps => generator.subschema_for::<Option<Vec<S<RawStep>>>>(),
            ValueKind::Branches => generator.subschema_for::<Option<Vec<Vec<S<RawStep>>>>>(),
        }
    }
}

impl RawValue {
    /// Where the value is written.
    pub fn loc(&self) -> Loc {
        match self {
            RawValue::Word(v) | RawValue::Regex(v) | RawValue::Duration(v) => v.loc(),
            RawValue::Text(v) => v.loc(),
            RawValue::TextList(v) => v.loc(),
            RawValue::Flag(v) => v.loc(),
            RawValue::Count(v) => v.loc(),
            RawValue::Size(v) => v.loc(),
            RawValue::Integer(v) => v.loc(),
            RawValue::Number(v) => v.loc(),
            RawValue::Range(v) => v.loc(),
            RawValue::Stdin(v) => v.loc(),
            RawValue::Faults(v) => v.loc(),
            RawValue::Steps(v) => v.loc(),
            RawValue::Branches(v) => v.loc(),
        }
    }

    /// The kind this value was read as.
    pub fn kind(&self) -> ValueKind {
        match self {
            RawValue::Word(_) => ValueKind::Word,
            RawValue::Regex(_) => ValueKind::Regex,
            RawValue::Duration(_) => ValueKind::Duration,
            RawValue::Text(_) => ValueKind::Text,
            RawValue::TextList(_) => ValueKind::TextList,
            RawValue::Flag(_) => ValueKind::Flag,
            RawValue::Count(_) => ValueKind::Count,
            RawValue::Size(_) => ValueKind::Size,
            RawValue::Integer(_) => ValueKind::Integer,
            RawValue::Number(_) => ValueKind::Number,
            RawValue::Range(_) => ValueKind::Range,
            RawValue::Stdin(_) => ValueKind::Stdin,
            RawValue::Faults(_) => ValueKind::Faults,
            RawValue::Steps(_) => ValueKind::Steps,
            RawValue::Branches(_) => ValueKind::Branches,
        }
    }
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
