//! Scores: verdicts become points.
//!
//! The fifth stage (… → check → **score** → report). A scenario's points are
//! shared among its scored checks by weight (partial credit); checks an
//! earlier failure kept from running count as not earned. A submission's
//! total is scaled to the lab manifest's `total`.

use socklab_report::{
    CheckReport, CheckStatus, PacketsReport, ScenarioReport, ScenarioStatus, SourceRef,
};
use socklab_scenario::path::{StepPath, walk};
use socklab_scenario::{Action, Scenario};

use crate::check;
use crate::plan::ScenarioPlan;
use crate::run::ScenarioRun;

/// Turns a scenario run into its report with points; the plan says which
/// scored checks it should have run.
pub fn score_scenario(
    plan: &ScenarioPlan<'_>,
    run: ScenarioRun,
    source: SourceRef,
) -> ScenarioReport {
    let scenario = plan.scenario;
    let mut report = ScenarioReport {
        name: scenario.name.clone(),
        description: scenario.description.clone(),
        source,
        status: ScenarioStatus::Failed,
        earned: 0.0,
        points: scenario.points,
        observe: scenario.observe,
        checks: Vec::new(),
        reason: None,
        transcripts: run.transcripts,
        duration_secs: run.duration.as_secs_f64(),
        tags: scenario.tags.clone(),
        packets: run.packets,
    };
    if let Some(why) = run.harness_error {
        report.status = ScenarioStatus::Error;
        report.reason = Some(why);
        return report;
    }
    let mut checks: Vec<CheckReport> = run
        .observations
        .iter()
        .filter_map(|(o, meta)| {
            let mut verdict = check::verdict(o, meta)?;
            if scenario.observe {
                if verdict.held.is_none() && verdict.status != CheckStatus::Error {
                    verdict.held = Some(verdict.status == CheckStatus::Passed);
                }
                verdict.status = match verdict.status {
                    CheckStatus::Error => CheckStatus::Error,
                    CheckStatus::Skipped => CheckStatus::Skipped,
                    _ => CheckStatus::Observed,
                };
                verdict.weight = 0.0;
            }
            Some(verdict)
        })
        .collect();
    if let Some(when) = &run.timed_out {
        checks.push(CheckReport {
            title: "the scenario finishes in time".to_string(),
            step: "-".to_string(),
            line: scenario.loc.line,
            status: if scenario.observe {
                CheckStatus::Observed
            } else {
                CheckStatus::Failed
            },
            weight: 0.0,
            message: format!(
                "the scenario did not finish within its {:?} timeout; a program probably hangs",
                scenario.timeout
            ),
            sent: None,
            expected: None,
            observed: (!when.is_empty()).then(|| when.clone()),
            hint: None,
            duration_secs: scenario.timeout.as_secs_f64(),
            held: scenario.observe.then_some(false),
        });
    }
    let planned = plan.scored_checks();
    let ran: std::collections::BTreeSet<&StepPath> = run
        .observations
        .iter()
        .filter_map(|(o, _)| o.step.as_ref())
        .collect();
    let missing: Vec<CheckReport> = planned
        .iter()
        .filter(|(path, _)| !ran.contains(path))
        .map(|(path, step)| {
            let title = step
                .meta
                .title
                .clone()
                .or_else(|| run.titles.get(*path).cloned())
                .unwrap_or_else(|| check::default_title(&step.action));
            check::not_reached(title, path.to_string(), step.loc.line, step.meta.weight)
        })
        .collect();
    checks.extend(missing);

    // A check skipped here (a packet check without a capture) is not part
    // of the scenario's points: the others share them.
    let skipped: std::collections::BTreeSet<&StepPath> = run
        .observations
        .iter()
        .filter(|(o, _)| o.outcome == check::Outcome::Skipped)
        .filter_map(|(o, _)| o.step.as_ref())
        .collect();
    let total_weight: f64 = planned
        .iter()
        .filter(|(path, _)| !skipped.contains(path))
        .map(|(_, step)| step.meta.weight)
        .sum();
    // `+ 0.0`: an empty f64 sum is -0.0, and with no check passed the
    // scenario's points (and the submission's total) would be -0.
    let passed_weight: f64 = checks
        .iter()
        .filter(|c| c.status == CheckStatus::Passed)
        .map(|c| c.weight)
        .sum::<f64>()
        + 0.0;
    let any_failure = checks.iter().any(|c| {
        matches!(
            c.status,
            CheckStatus::Failed | CheckStatus::NotReached | CheckStatus::Error
        )
    });
    report.earned = if scenario.observe {
        0.0
    } else if total_weight > 0.0 {
        scenario.points * (passed_weight / total_weight).min(1.0)
    } else if any_failure {
        0.0
    } else {
        scenario.points
    };
    report.status = if checks.iter().any(|c| c.status == CheckStatus::Error)
        && !any_failure_of_student(&checks)
    {
        ScenarioStatus::Error
    } else if scenario.observe {
        ScenarioStatus::Observed
    } else if any_failure {
        ScenarioStatus::Failed
    } else {
        ScenarioStatus::Passed
    };
    report.checks = checks;
    let all_held = report.status == ScenarioStatus::Observed
        && report.checks.iter().all(|c| c.held != Some(false));
    if report.status == ScenarioStatus::Passed || all_held {
        // A passed scenario's feedback (or an observed one's where every
        // behaviour held) stays small: the capture file keeps
        // every packet, and only scenarios about the packets draw some.
        let examines_packets = walk(&scenario.steps)
            .iter()
            .any(|(_, step)| matches!(step.action, Action::Packets { .. }));
        let ladders = if examines_packets {
            PacketsReport::PASSED_LADDERS
        } else {
            0
        };
        report.packets = report
            .packets
            .take()
            .map(|packets| packets.abridged(ladders, PacketsReport::PASSED_ROWS));
    }
    report
}

fn any_failure_of_student(checks: &[CheckReport]) -> bool {
    checks.iter().any(|c| c.status == CheckStatus::Failed)
}

/// A report for a scenario that was not run, with the reason.
pub fn skipped(scenario: &Scenario, source: SourceRef, reason: String) -> ScenarioReport {
    ScenarioReport {
        name: scenario.name.clone(),
        description: scenario.description.clone(),
        source,
        status: ScenarioStatus::Skipped,
        earned: 0.0,
        points: scenario.points,
        observe: scenario.observe,
        checks: Vec::new(),
        reason: Some(reason),
        transcripts: Vec::new(),
        duration_secs: 0.0,
        tags: scenario.tags.clone(),
        packets: None,
    }
}

/// A scenario socklab could not run as it should (not the submission's
/// fault): reported as an error with why, earning nothing.
pub fn harness_error(scenario: &Scenario, source: SourceRef, why: String) -> ScenarioReport {
    ScenarioReport {
        status: ScenarioStatus::Error,
        ..skipped(scenario, source, why)
    }
}

/// The submission's score and maximum, scaled to `total` when given.
/// `suite_points` are the scored points of the whole suite when only some
/// of its scenarios ran (`--only`): the selection is then scaled as it is
/// in the whole suite, to its share of `total`, not to all of it.
pub fn total(
    scenarios: &[ScenarioReport],
    total: Option<f64>,
    suite_points: Option<f64>,
) -> (f64, f64) {
    let raw_max: f64 = scenarios
        .iter()
        .filter(|s| !s.observe)
        .map(|s| s.points)
        .sum();
    let raw: f64 = scenarios
        .iter()
        .filter(|s| !s.observe)
        .map(|s| s.earned)
        .sum();
    let scaled_from = suite_points.filter(|p| *p > 0.0).unwrap_or(raw_max);
    match total {
        Some(t) if raw_max > 0.0 => (
            round2(raw * t / scaled_from),
            round2(raw_max * t / scaled_from),
        ),
        _ => (round2(raw), raw_max + 0.0),
    }
}

/// Rounded to 2 decimals; never -0 (an empty `sum()` of f64 is -0.0, which
/// would print as `-0.00`).
fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0 + 0.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_scenarios_score_a_plain_zero() {
        let (score, max) = total(&[], None, None);
        assert!(score == 0.0 && score.is_sign_positive(), "{score:?}");
        assert!(max == 0.0 && max.is_sign_positive(), "{max:?}");
        assert_eq!(format!("{score:.2}/{max}"), "0.00/0");
    }

    fn scenario(points: f64, earned: f64) -> ScenarioReport {
        ScenarioReport {
            name: "s".into(),
            description: None,
            source: SourceRef::new("s.yaml".to_string(), 1),
            status: ScenarioStatus::Failed,
            earned,
            points,
            observe: false,
            checks: Vec::new(),
            reason: None,
            transcripts: Vec::new(),
            packets: None,
            duration_secs: 0.0,
            tags: Vec::new(),
        }
    }

    #[test]
    fn a_selection_keeps_its_share_of_the_total() {
        // A 4-point scenario, half earned, of a 20-point suite scaled to 100:
        // 10 / 20, not 50 / 100.
        let selected = [scenario(4.0, 2.0)];
        assert_eq!(total(&selected, Some(100.0), Some(20.0)), (10.0, 20.0));
        assert_eq!(total(&selected, Some(100.0), None), (50.0, 100.0));
        // Without a total, the scenarios' own points.
        assert_eq!(total(&selected, None, Some(20.0)), (2.0, 4.0));
        // A share that is not a round number is rounded like the score, so
        // full marks read 8.6 of 8.6, not of 8.6021….
        let full = [scenario(4.0, 4.0)];
        let (score, max) = total(&full, Some(100.0), Some(46.5));
        assert_eq!((score, max), (8.6, 8.6));
    }
}
