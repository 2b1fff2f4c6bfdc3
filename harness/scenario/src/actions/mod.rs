//! The actions a step can take, one file each, and the one table of them.
//!
//! Each file under `actions/` defines one action in one place (as
//! mini-redis's `cmd/` defines one command per file): its keyword, what its
//! value names, its parameters with the text editors show, whether it is a
//! check, an example, its default title and its validation from the raw
//! YAML to [`Action`]. [`TABLE`] lists them; from it come the keys a step
//! may have and the kind of each (reading a step), "did you mean" and "which
//! keys does X take" (validation), the JSON Schema of a step
//! (`docs/schema/`) and the action list in `docs/scenarios.md`.
//!
//! Adding an action: write its file (copy a similar one), add it to
//! [`TABLE`], add its variant to [`Action`] with one arm in
//! [`Action::definition`] and one in [`Action::default_title`], and teach
//! the harness's runner to execute it.
//!
//! Layer: above raw, model and templates; below [`crate::validate`]. Inside,
//! from the bottom: [`scope`] (names and shared checks), [`input`] (what an
//! action's validation reads), [`definition`] (what an action defines),
//! [`step`] (validating one step through a table), the action files, and
//! this table.

// Layers, from the bottom up, as in the crate root.
pub mod scope;

pub mod input;

pub mod definition;

pub mod step;

pub mod accept;
pub mod assert;
pub mod children;
pub mod close;
pub mod concurrently;
pub mod connect;
pub mod exit;
pub mod expect;
pub mod file;
pub mod idle;
pub mod listen;
pub mod output;
pub mod packets;
pub mod proxy;
pub mod recv;
pub mod repeat;
pub mod resume;
pub mod running;
pub mod send;
pub mod shutdown;
pub mod silence;
pub mod start;
pub mod stop;
pub mod suspend;
pub mod r#type;
pub mod wait_listen;

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::Deserialize;
use serde::de::{IgnoredAny, MapAccess, Visitor};

use crate::model::Action;
pub use crate::raw::Param;
use crate::raw::{RawEntry, RawStep, ValueKind};
use crate::spanned::S;

pub use definition::{Definition, Role, SETTINGS, Subject, Table, definition_of};

/// Every action, in the order authors see them listed.
pub static TABLE: Table = &[
    &start::DEFINITION,
    &wait_listen::DEFINITION,
    &r#type::DEFINITION,
    &expect::DEFINITION,
    &exit::DEFINITION,
    &running::DEFINITION,
    &idle::DEFINITION,
    &children::DEFINITION,
    &stop::DEFINITION,
    &suspend::DEFINITION,
    &resume::DEFINITION,
    &output::DEFINITION,
    &proxy::DEFINITION,
    &connect::DEFINITION,
    &listen::DEFINITION,
    &accept::DEFINITION,
    &send::DEFINITION,
    &recv::DEFINITION,
    &silence::DEFINITION,
    &shutdown::DEFINITION,
    &close::DEFINITION,
    &file::DEFINITION,
    &assert::DEFINITION,
    &packets::DEFINITION,
    &repeat::DEFINITION,
    &concurrently::DEFINITION,
];

/// The keywords of every action, in table order.
pub fn keywords() -> Vec<&'static str> {
    TABLE.iter().map(|d| d.keyword).collect()
}

/// The key `key` of a step, as the table spells it, and the kind of its
/// value: an action key, a parameter of some action, or a setting.
pub fn key_kind(key: &str) -> Option<(&'static str, ValueKind)> {
    let action = TABLE
        .iter()
        .find(|d| d.keyword == key)
        .map(|d| (d.keyword, d.subject.kind()));
    let param = || {
        TABLE
            .iter()
            .flat_map(|d| d.params)
            .chain(SETTINGS)
            .find(|p| p.key == key)
            .map(|p| (p.key, p.kind))
    };
    action.or_else(param)
}

impl Action {
    /// The action's definition in its file under `actions/`.
    pub fn definition(&self) -> &'static Definition {
        match self {
            Action::Start(_) => &start::DEFINITION,
            Action::WaitListen { .. } => &wait_listen::DEFINITION,
            Action::Type { .. } => &r#type::DEFINITION,
            Action::Expect { .. } => &expect::DEFINITION,
            Action::Exit { .. } => &exit::DEFINITION,
            Action::Running { .. } => &running::DEFINITION,
            Action::Idle { .. } => &idle::DEFINITION,
            Action::Children { .. } => &children::DEFINITION,
            Action::Stop { .. } => &stop::DEFINITION,
            Action::Suspend { .. } => &suspend::DEFINITION,
            Action::Resume { .. } => &resume::DEFINITION,
            Action::Output { .. } => &output::DEFINITION,
            Action::Proxy(_) => &proxy::DEFINITION,
            Action::Connect { .. } => &connect::DEFINITION,
            Action::Listen { .. } => &listen::DEFINITION,
            Action::Accept { .. } => &accept::DEFINITION,
            Action::Send { .. } => &send::DEFINITION,
            Action::Recv { .. } => &recv::DEFINITION,
            Action::Silence { .. } => &silence::DEFINITION,
            Action::Shutdown { .. } => &shutdown::DEFINITION,
            Action::Close { .. } => &close::DEFINITION,
            Action::File { .. } => &file::DEFINITION,
            Action::Assert { .. } => &assert::DEFINITION,
            Action::Packets { .. } => &packets::DEFINITION,
            Action::Repeat { .. } => &repeat::DEFINITION,
            Action::Concurrently { .. } => &concurrently::DEFINITION,
        }
    }

    /// The action's key as written in YAML.
    pub fn keyword(&self) -> &'static str {
        self.definition().keyword
    }

    /// Whether the step is a check that can pass or fail on the submission's
    /// behaviour (as opposed to set-up such as `start` or `close`).
    pub fn is_check(&self) -> bool {
        self.definition().role.is_check()
    }

    /// What a step checks or does, for reports, when it has no `title:`.
    pub fn default_title(&self) -> String {
        match self {
            Action::Start(spec) => start::title(spec),
            Action::WaitListen { program, port } => wait_listen::title(program, port),
            Action::Type { program, input } => r#type::title(program, input),
            Action::Expect {
                program, pattern, ..
            } => expect::title(program, pattern),
            Action::Exit { program, expect } => exit::title(program, expect),
            Action::Running { program, .. } => running::title(program),
            Action::Idle { program } => idle::title(program),
            Action::Children {
                program, zombies, ..
            } => children::title(program, *zombies),
            Action::Stop { program, signal } => stop::title(program, signal.as_deref()),
            Action::Suspend { program } => suspend::title(program),
            Action::Resume {
                program,
                children_ended,
            } => resume::title(program, *children_ended),
            Action::Output { program, check, .. } => output::title(program, check),
            Action::Proxy(spec) => proxy::title(spec),
            Action::Connect {
                peer, to, refused, ..
            } => connect::title(peer, to, *refused),
            Action::Listen { peer, port, .. } => listen::title(peer, port),
            Action::Accept { peer } => accept::title(peer),
            Action::Send { peer, data, .. } => send::title(peer, data),
            Action::Recv { peer, spec } => recv::title(peer, spec),
            Action::Silence { peer, hold } => silence::title(peer, *hold),
            Action::Shutdown { peer } => shutdown::title(peer),
            Action::Close { peer } => close::title(peer),
            Action::File { path, .. } => file::title(path),
            Action::Assert { var, .. } => assert::title(var),
            Action::Packets { of, checks } => packets::title(of, checks),
            Action::Repeat { times, .. } => repeat::title(*times),
            Action::Concurrently { .. } => concurrently::title(),
        }
    }
}

/// A step is read key by key: the table says which keys exist and the kind
/// of each one's value. Unknown keys are kept for validation to explain.
impl<'de> Deserialize<'de> for RawStep {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StepVisitor;
        impl<'de> Visitor<'de> for StepVisitor {
            type Value = RawStep;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a step: a mapping with one action key, e.g. `{ close: c }`")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawStep, A::Error> {
                let mut step = RawStep::default();
                while let Some(key) = map.next_key::<S<String>>()? {
                    let Some((name, kind)) = key_kind(key.value()) else {
                        map.next_value::<IgnoredAny>()?;
                        step.unknown.push(key);
                        continue;
                    };
                    if let Some(value) = kind.read(&mut map)? {
                        step.entries.push(RawEntry {
                            key: name,
                            key_loc: key.loc(),
                            value,
                        });
                    }
                }
                Ok(step)
            }
        }
        deserializer.deserialize_map(StepVisitor)
    }
}

/// The schema of a step: one alternative per action, each with the action
/// key (required), that action's parameters and the settings every step
/// has, and nothing else; so an editor offers, documents and checks the
/// keys of the action being written.
impl JsonSchema for RawStep {
    fn schema_name() -> Cow<'static, str> {
        "RawStep".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let alternatives: Vec<serde_json::Value> = TABLE
            .iter()
            .map(|d| action_schema(d, generator).to_value())
            .collect();
        schemars::json_schema!({
            "description": "One step. Exactly one action key (`start`, `expect`, `send`, ...) names the step and its subject; the other keys are that action's parameters and the settings every step may have.",
            "type": "object",
            "oneOf": alternatives,
        })
    }
}

fn action_schema(definition: &Definition, generator: &mut SchemaGenerator) -> Schema {
    let described = |kind: ValueKind, doc: &str, generator: &mut SchemaGenerator| {
        let mut schema = kind.schema(generator);
        schema.insert("description".into(), doc.into());
        schema.to_value()
    };
    let mut properties = serde_json::Map::new();
    properties.insert(
        definition.keyword.into(),
        described(definition.subject.kind(), definition.summary, generator),
    );
    for p in definition.params.iter().chain(SETTINGS) {
        properties.insert(p.key.into(), described(p.kind, p.doc, generator));
    }
    schemars::json_schema!({
        "title": definition.keyword,
        "description": definition.summary,
        "properties": properties,
        "required": [definition.keyword],
        "additionalProperties": false,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;

    use super::*;
    use crate::model::Step;

    /// Keys that several actions take on purpose: the same word for the same
    /// idea (what to send, type or compare; a host; a duration).
    const SHARED: &[&str] = &[
        "text", "line", "fixture", "eof", "regex", "stream", "signal", "for", "count", "port",
        "host", "hex", "to",
    ];

    #[test]
    fn keywords_are_unique_and_no_keyword_is_a_parameter_or_setting() {
        let mut seen = BTreeMap::new();
        for d in TABLE {
            assert!(
                seen.insert(d.keyword, ()).is_none(),
                "`{}` twice in the table",
                d.keyword
            );
            let is_param = TABLE.iter().flat_map(|t| t.params).chain(SETTINGS);
            for p in is_param {
                assert_ne!(p.key, d.keyword, "`{}` is an action and a key", d.keyword);
            }
        }
    }

    #[test]
    fn every_action_says_what_it_does_and_documents_its_keys() {
        for d in TABLE {
            assert!(!d.summary.is_empty(), "`{}` has no summary", d.keyword);
            for p in d.params.iter().chain(SETTINGS) {
                assert!(
                    !p.doc.is_empty(),
                    "`{}`'s `{}` has no doc",
                    d.keyword,
                    p.key
                );
            }
            let mut keys: Vec<&str> = d.params.iter().map(|p| p.key).collect();
            keys.sort_unstable();
            keys.dedup();
            assert_eq!(keys.len(), d.params.len(), "`{}` repeats a key", d.keyword);
            for p in d.params {
                assert!(
                    SETTINGS.iter().all(|s| s.key != p.key),
                    "`{}` redefines the setting `{}`",
                    d.keyword,
                    p.key
                );
            }
        }
        // Every action but those on a bare subject takes parameters.
        let bare = [
            "accept",
            "shutdown",
            "close",
            "concurrently",
            "idle",
            "suspend",
        ];
        for d in TABLE {
            assert_eq!(
                d.params.is_empty(),
                bare.contains(&d.keyword),
                "`{}`: parameters {:?}",
                d.keyword,
                d.params.iter().map(|p| p.key).collect::<Vec<_>>()
            );
        }
    }

    /// A step is read before its action is known, so a key must have one
    /// kind of value everywhere; and only the keys meant to be shared are.
    #[test]
    fn a_key_of_several_actions_is_meant_to_be_shared_and_has_one_kind() {
        let mut uses: BTreeMap<&str, Vec<(&str, ValueKind)>> = BTreeMap::new();
        for d in TABLE {
            for p in d.params {
                uses.entry(p.key).or_default().push((d.keyword, p.kind));
            }
        }
        for (key, users) in &uses {
            if users.len() > 1 {
                assert!(
                    SHARED.contains(key),
                    "`{key}` belongs to {users:?}; if that is meant, add it to SHARED"
                );
            }
            let (first, kind) = users[0];
            for (action, other) in users {
                assert_eq!(
                    *other, kind,
                    "`{key}` is {kind:?} in `{first}` but {other:?} in `{action}`"
                );
            }
            assert_eq!(key_kind(key), Some((*key, kind)));
        }
        for key in SHARED {
            assert!(
                uses.get(key).is_some_and(|u| u.len() > 1),
                "`{key}` is listed as shared but has one action"
            );
        }
    }

    /// The scenario each example runs in: it declares the names examples
    /// refer to.
    fn scenario_with(example: &str) -> String {
        format!(
            r#"scenarios:
  - name: example
    ports: {{ lottery: auto, proxy: auto, ft: auto }}
    fixtures: {{ data: {{ text: "x" }} }}
    steps:
      - {{ start: srv, program: P }}
      - {{ start: cli, program: P }}
      - {{ connect: c, to: "x:1" }}
      - {{ connect: a, to: "x:1" }}
      - {{ connect: b, to: "x:1" }}
      - {{ listen: srv, port: "1" }}
      - {{ expect: cli, regex: '(?P<n>[0-9]+)' }}
      - {example}
"#
        )
    }

    fn last_step(example: &str) -> Step {
        let source = scenario_with(example);
        let file = crate::parse_scenario_file(Path::new("example.yaml"), &source, None)
            .unwrap_or_else(|d| panic!("the example `{example}` does not validate:\n{d}"));
        file.scenarios[0].steps.last().unwrap().clone()
    }

    /// The table and the model agree: each action's example validates to a
    /// variant whose keyword and definition are that action's, and every
    /// variant's definition is in the table.
    #[test]
    fn every_example_validates_to_its_own_action() {
        for d in TABLE {
            let step = last_step(d.example);
            let action = &step.action;
            assert_eq!(action.keyword(), d.keyword, "example of `{}`", d.keyword);
            assert!(std::ptr::eq(action.definition(), *d));
            assert!(
                TABLE.iter().any(|t| std::ptr::eq(*t, action.definition())),
                "`{}` is not in the table",
                action.keyword()
            );
            assert_eq!(action.is_check(), d.role.is_check());
            let default_weight = if d.role == Role::Prerequisite {
                0.0
            } else {
                1.0
            };
            assert_eq!(step.meta.weight, default_weight, "`{}`", d.keyword);
            assert!(!action.default_title().is_empty());
        }
    }

    #[test]
    fn a_parameter_of_another_action_names_the_keys_of_this_one() {
        let source = scenario_with("{ close: c, to: \"x:1\" }");
        let text = crate::parse_scenario_file(Path::new("x.yaml"), &source, None)
            .unwrap_err()
            .to_string();
        assert!(text.contains("`to` does not apply to `close`"), "{text}");
        assert!(
            text.contains("`close` takes no parameters besides title, hint"),
            "{text}"
        );
    }

    #[test]
    fn keys_are_read_with_their_kind() {
        assert_eq!(key_kind("start"), Some(("start", ValueKind::Word)));
        assert_eq!(key_kind("repeat"), Some(("repeat", ValueKind::Count)));
        assert_eq!(key_kind("file"), Some(("file", ValueKind::Text)));
        assert_eq!(key_kind("weight"), Some(("weight", ValueKind::Number)));
        assert_eq!(key_kind("until"), Some(("until", ValueKind::Regex)));
        assert_eq!(key_kind("prot"), None);
    }
}
