//! From the raw YAML shape to the typed [`crate::model`], with every problem
//! reported at its line and column.
//!
//! Validation runs in two passes over a scenario: first it collects what the
//! scenario declares (hosts, ports, fixtures, matrix axes, and the programs,
//! peers and captures its steps introduce), then it converts each step
//! through the action table ([`crate::actions`]), checking that every name
//! and placeholder refers to something declared. Problems are collected, not
//! thrown, so one run reports them all. Scenario keys are checked here,
//! fixtures in [`crate::fixture`], the matrix expanded in [`crate::matrix`].
//!
//! Layer: the top of validation; only the crate root calls it.

use std::collections::{BTreeMap, BTreeSet};

use crate::actions::scope::{Declared, capture_names};
use crate::actions::step::validate_steps;
use crate::actions::{Subject, TABLE, Table, definition_of};
use crate::diagnostic::{Reporter, closest};
use crate::model::*;
use crate::raw::*;
use crate::spanned::{Loc, S};
use crate::template::Template;
use crate::{fixture, matrix, syntax};

/// Validates a whole scenario file. `lab` is what the manifest says when
/// one is known (so `{{options.x}}`, `when:` and `program:` can be checked).
pub fn validate_file(
    raw: &RawScenarioFile,
    file: &std::path::Path,
    lab: Option<&LabContext>,
    reporter: &mut Reporter,
) -> Vec<Scenario> {
    let mut scenarios = Vec::new();
    // Each name's uses so far: where, and for which course options.
    type Uses = Vec<(Loc, BTreeMap<String, String>)>;
    let mut names: BTreeMap<String, Uses> = BTreeMap::new();
    for raw_scenario in &raw.scenarios {
        let name = raw_scenario.value().name.value().clone();
        let loc = raw_scenario.value().name.loc();
        let when = raw_when(raw_scenario.value());
        let earlier = names.entry(name.clone()).or_default();
        // One name may be used by variants for different course options
        // (`when: { echo_mode: echo }` and `when: { echo_mode: sum }`): at
        // most one of them is ever part of a suite.
        if let Some((first, _)) = earlier.iter().find(|(_, w)| !disjoint(w, &when)) {
            reporter.error(
                loc,
                format!("scenario name `{name}` is used twice"),
                Some(format!(
                    "the first is at line {}; names must be unique (variants for different course options may share a name when their `when:` differ in one option's value)",
                    first.line
                )),
            );
        }
        earlier.push((loc, when));
        if let Some(base) = validate_scenario(raw_scenario, file, lab, reporter) {
            scenarios.extend(matrix::expand(base, raw_scenario, reporter));
        }
    }
    scenarios
}

/// A scenario's `when:` as written (names and values as text).
fn raw_when(sc: &RawScenario) -> BTreeMap<String, String> {
    sc.when
        .iter()
        .flat_map(|w| w.value().iter())
        .map(|(k, v)| (k.clone(), v.value().0.clone()))
        .collect()
}

/// Whether no course options can satisfy both conditions.
fn disjoint(a: &BTreeMap<String, String>, b: &BTreeMap<String, String>) -> bool {
    a.iter()
        .any(|(k, v)| b.get(k).is_some_and(|other| other != v))
}

/// A port given as a course option, `"{{options.daytime_port}}"`: the
/// option's value must be a port number (checked when the lab manifest,
/// which holds the options, is known).
fn option_port(
    port_name: &str,
    text: &str,
    loc: Loc,
    options: Option<&BTreeMap<String, String>>,
    r: &mut Reporter,
) -> Option<PortSpec> {
    let template = match Template::parse(text) {
        Ok(t) => t,
        Err(e) => {
            r.error(loc, e.message, e.help);
            return None;
        }
    };
    let placeholders: Vec<(&str, &str)> = template.placeholders().collect();
    let option = match placeholders.as_slice() {
        [("options", name)] if text.trim() == format!("{{{{options.{name}}}}}") => *name,
        _ => {
            r.error(
                loc,
                format!("port `{port_name}` has value `{text}`, which is not a port"),
                Some("a port is a number, `auto`, or exactly one course option, `\"{{options.NAME}}\"`".into()),
            );
            return None;
        }
    };
    let Some(options) = options else {
        r.error(
            loc,
            format!("port `{port_name}` is the course option `{option}`, and no lab manifest gives options here"),
            Some("run or validate the scenario with its lab.yaml (or with a lab.yaml beside it)".into()),
        );
        return None;
    };
    let Some(value) = options.get(option) else {
        let known: Vec<&str> = options.keys().map(String::as_str).collect();
        r.error(
            loc,
            format!("port `{port_name}`: `{option}` is not a course option"),
            Some(format!(
                "add `{option}` under `options:` in lab.yaml, or use one of: {}",
                known.join(", ")
            )),
        );
        return None;
    };
    match value.trim().parse::<u16>() {
        Ok(number) if number > 0 => Some(PortSpec::Option {
            name: option.to_string(),
            number,
        }),
        _ => {
            r.error(
                loc,
                format!("port `{port_name}` is the course option `{option}`, whose value `{value}` is not a port"),
                Some(format!("set `{option}` in lab.yaml's `options:` (or with `--option {option}=PORT`) to a number from 1 to 65535")),
            );
            None
        }
    }
}

fn validate_when(
    sc: &RawScenario,
    options: Option<&BTreeMap<String, String>>,
    r: &mut Reporter,
) -> BTreeMap<String, String> {
    let Some(when) = &sc.when else {
        return BTreeMap::new();
    };
    if when.value().is_empty() {
        r.error(
            when.loc(),
            "`when:` names no course option",
            Some("write e.g. `when: { echo_mode: sum }`, or leave `when:` out to run with every course option".into()),
        );
    }
    let mut out = BTreeMap::new();
    for (name, value) in when.value() {
        if let Some(known) = options
            && !known.contains_key(name)
        {
            let names: Vec<&str> = known.keys().map(String::as_str).collect();
            let list = if names.is_empty() {
                "the lab manifest defines no `options:`".to_string()
            } else {
                format!("options in the lab manifest: {}", names.join(", "))
            };
            let help = match closest(name, &names) {
                Some(best) => format!("did you mean `{best}`? {list}"),
                None => format!(
                    "{list}; add it under `options:` in lab.yaml, or remove it from `when:`"
                ),
            };
            r.error(
                value.loc(),
                format!(
                    "`when:` names course option `{name}`, which the lab manifest does not define"
                ),
                Some(help),
            );
        }
        if value.value().0.trim().is_empty() {
            r.error(
                value.loc(),
                format!("`when:` gives option `{name}` an empty value"),
                Some(format!(
                    "write the value the option must have, e.g. `{name}: sum`"
                )),
            );
        }
        out.insert(name.clone(), value.value().0.clone());
    }
    out
}

fn validate_scenario(
    raw: &S<RawScenario>,
    file: &std::path::Path,
    lab: Option<&LabContext>,
    r: &mut Reporter,
) -> Option<Scenario> {
    let sc = raw.value();
    let options = lab.map(|l| &l.options);
    let name = sc.name.value().trim().to_string();
    if name.is_empty() {
        r.error(sc.name.loc(), "scenario name is empty", None);
    }
    let mut declared = Declared {
        options: options.map(|o| o.keys().cloned().collect()),
        lab_programs: lab.and_then(|l| l.programs.clone()),
        ..Declared::default()
    };

    let hosts: Vec<String> = match &sc.hosts {
        None => vec!["local".to_string()],
        Some(list) if list.is_empty() => {
            r.error(
                raw.loc(),
                "`hosts:` is empty",
                Some(
                    "list at least one host name, or leave `hosts:` out for one host `local`"
                        .into(),
                ),
            );
            vec!["local".to_string()]
        }
        Some(list) => {
            let mut seen = BTreeSet::new();
            for h in list {
                if !syntax::is_identifier(h.value()) {
                    r.error(
                        h.loc(),
                        format!("host name `{}` is not a simple name", h.value()),
                        Some("use letters, digits, `_` and `-`".into()),
                    );
                }
                if !seen.insert(h.value().clone()) {
                    r.error(
                        h.loc(),
                        format!("host `{}` is declared twice", h.value()),
                        None,
                    );
                }
            }
            list.iter().map(|h| h.value().clone()).collect()
        }
    };
    declared.hosts = hosts.clone();

    let mut ports = BTreeMap::new();
    for (port_name, spec) in sc.ports.iter().flatten() {
        let text = &spec.value().0;
        let parsed = if text == "auto" {
            Some(PortSpec::Auto)
        } else if text.contains("{{") {
            option_port(port_name, text, spec.loc(), options, r)
        } else {
            match text.parse::<u16>() {
                Ok(n) if n > 0 => Some(PortSpec::Fixed(n)),
                _ => {
                    r.error(
                        spec.loc(),
                        format!("port `{port_name}` has value `{text}`, which is not a port"),
                        Some("write a number from 1 to 65535, `auto` for a free port, or `\"{{options.NAME}}\"` for a course option".into()),
                    );
                    None
                }
            }
        };
        if let Some(p) = parsed {
            ports.insert(port_name.clone(), p);
        }
        declared.ports.insert(port_name.clone());
    }

    let mut fixtures = BTreeMap::new();
    for (fixture_name, spec) in sc.fixtures.iter().flatten() {
        declared.fixtures.insert(fixture_name.clone());
        if let Some(f) = fixture::validate(fixture_name, spec, r) {
            fixtures.insert(fixture_name.clone(), f);
        }
    }

    for (axis, values) in sc.matrix.iter().flatten() {
        if values.is_empty() {
            r.error(
                raw.loc(),
                format!("matrix axis `{axis}` has no values"),
                None,
            );
        }
        declared.matrix.insert(axis.clone(), values.clone());
    }

    collect_declarations(TABLE, &sc.steps, &mut declared);

    let when = validate_when(sc, options, r);
    if sc.steps.is_empty() {
        r.error(
            sc.name.loc(),
            format!("scenario `{name}` has no steps"),
            Some("add the steps that check something (`steps: [...]`); a scenario without checks would earn its points for nothing".into()),
        );
    }
    let steps = validate_steps(TABLE, &sc.steps, &declared, 1, r);

    let points = match &sc.points {
        Some(p) if *p.value() < 0.0 || !p.value().is_finite() => {
            r.error(
                p.loc(),
                format!("points `{}` must be a number ≥ 0", p.value()),
                None,
            );
            0.0
        }
        Some(p) => *p.value(),
        None => 1.0,
    };
    let observe = sc.observe.unwrap_or(false);
    let timeout = sc
        .timeout
        .as_ref()
        .and_then(|t| syntax::duration(t, r))
        .unwrap_or(DEFAULT_SCENARIO_TIMEOUT);

    Some(Scenario {
        name,
        description: sc.description.clone(),
        file: file.to_path_buf(),
        loc: raw.loc(),
        points: if observe { 0.0 } else { points },
        observe,
        timeout,
        hosts,
        ports,
        fixtures,
        matrix: BTreeMap::new(),
        tags: sc.tags.clone().unwrap_or_default(),
        when,
        steps,
    })
}

/// Pass 1 of a scenario's validation: the names its steps introduce
/// (programs, peers, captured variables), at any depth.
fn collect_declarations(table: Table, steps: &[S<RawStep>], declared: &mut Declared) {
    for step in steps {
        for entry in &step.value().entries {
            match (&entry.value, definition_of(table, entry.key)) {
                // Restarting under the same name is allowed (e.g. in `repeat`).
                (RawValue::Word(name), Some(d)) if d.subject == Subject::NewProgram => {
                    declared.programs.insert(name.value().clone());
                }
                (RawValue::Word(name), Some(d)) if d.subject == Subject::NewPeer => {
                    declared.peers.insert(name.value().clone());
                }
                (RawValue::Regex(re), _) => declared.captures.extend(capture_names(re.value())),
                (RawValue::Steps(inner), _) => collect_declarations(table, inner.value(), declared),
                (RawValue::Branches(branches), _) => {
                    for branch in branches.value() {
                        collect_declarations(table, branch, declared);
                    }
                }
                _ => {}
            }
        }
    }
}
