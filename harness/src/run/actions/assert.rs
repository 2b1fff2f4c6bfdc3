//! `assert`: checks the values captured so far under a name (by regex
//! groups in `expect` and `recv` steps).

use std::time::SystemTime;

use socklab_scenario::AssertSpec;

use crate::check::Judgement;
use crate::check::values::{self, ValuesExpectation};
use crate::run::state::{StepContext, StepError};

pub fn run(cx: &StepContext<'_>, var: &str, spec: &AssertSpec) -> Result<Judgement, StepError> {
    let state = cx.state;
    let expectation = ValuesExpectation {
        count: spec.count,
        distinct: spec.distinct,
        range: spec.range,
        near_now: spec.near_now,
        equals: spec.equals.as_ref().map(|t| state.render(t)).transpose()?,
    };
    let captured = state.captured(var);
    Ok(values::captured(
        var,
        &captured,
        &expectation,
        SystemTime::now(),
    ))
}
