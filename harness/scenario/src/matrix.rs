//! `matrix:` of a scenario: one scenario per combination of the axes'
//! values (less `exclude:`), named `base[axis=value,...]`, with `from:
//! {{matrix.AXIS}}` resolved to the submission's or the reference program.
//!
//! Layer: below [`crate::validate`]; above raw, model and diagnostics.

use std::collections::BTreeMap;

use crate::diagnostic::Reporter;
use crate::model::{Action, Origin, Scenario, Step};
use crate::raw::RawScenario;
use crate::spanned::S;

/// Expands a scenario's `matrix:` into one scenario per combination, with
/// `from: {{matrix.x}}` resolved.
pub fn expand(base: Scenario, raw: &S<RawScenario>, r: &mut Reporter) -> Vec<Scenario> {
    let sc = raw.value();
    let Some(matrix) = sc.matrix.as_ref().filter(|m| !m.is_empty()) else {
        return vec![base];
    };
    let mut combinations: Vec<BTreeMap<String, String>> = vec![BTreeMap::new()];
    for (axis, values) in matrix {
        combinations = combinations
            .into_iter()
            .flat_map(|c| {
                values.iter().map(move |v| {
                    let mut next = c.clone();
                    next.insert(axis.clone(), v.clone());
                    next
                })
            })
            .collect();
    }
    let excludes = sc.exclude.clone().unwrap_or_default();
    for ex in &excludes {
        for (axis, value) in ex {
            if !matrix.get(axis).is_some_and(|vs| vs.contains(value)) {
                r.error(
                    raw.loc(),
                    format!("`exclude` names `{axis}: {value}`, which is not in the matrix"),
                    Some(format!(
                        "matrix axes: {}",
                        matrix.keys().cloned().collect::<Vec<_>>().join(", ")
                    )),
                );
            }
        }
    }
    combinations
        .into_iter()
        .filter(|c| {
            !excludes
                .iter()
                .any(|ex| ex.iter().all(|(k, v)| c.get(k) == Some(v)))
        })
        .filter_map(|combo| {
            let label: Vec<String> = combo.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let mut scenario = base.clone();
            scenario.name = format!("{}[{}]", base.name, label.join(","));
            scenario.matrix = combo.clone();
            let mut ok = true;
            resolve_origins(&mut scenario.steps, &combo, &mut |msg| {
                r.error(
                    raw.loc(),
                    msg,
                    Some("`from:` must become `submission` or `reference`".into()),
                );
                ok = false;
            });
            ok.then_some(scenario)
        })
        .collect()
}

fn resolve_origins(
    steps: &mut [Step],
    combo: &BTreeMap<String, String>,
    fail: &mut dyn FnMut(String),
) {
    for step in steps {
        match &mut step.action {
            Action::Start(spec) => {
                if let Origin::Templated(t) = &spec.origin {
                    let rendered = t.render(&|ns, name, _| {
                        (ns == "matrix").then(|| combo.get(name).cloned()).flatten()
                    });
                    spec.origin = match rendered.as_deref() {
                        Ok("submission") => Origin::Submission,
                        Ok("reference") => Origin::Reference,
                        Ok(other) => {
                            fail(format!(
                                "`from: {}` became `{other}` for this matrix combination",
                                t.source
                            ));
                            Origin::Submission
                        }
                        Err(e) => {
                            fail(e.clone());
                            Origin::Submission
                        }
                    };
                }
            }
            Action::Repeat { steps, .. } => resolve_origins(steps, combo, fail),
            Action::Concurrently { branches } => {
                for b in branches {
                    resolve_origins(b, combo, fail);
                }
            }
            _ => {}
        }
    }
}
