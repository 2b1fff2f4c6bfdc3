//! Points: scaling scenario points to the manifest's total, rounding and
//! printing them.
//!
//! The model keeps each scenario's `earned`/`points` unscaled (as written in
//! the scenario files) and the submission's `score`/`max_score` scaled to the
//! manifest's `total`. Gradebooks want per-scenario numbers that add up to the
//! scaled total, so every reporter that shows per-scenario points for a
//! gradebook (CSV, Gradescope, PrairieLearn, GitHub Classroom, JUnit) scales
//! them here, the same way.

use crate::model::{ScenarioReport, SubmissionReport};

/// The factor turning a scenario's unscaled points into points of the
/// submission's `max_score`: `max_score / sum(points of scored scenarios)`.
///
/// 0 when there is nothing to scale (no scored points, or a maximum that is
/// 0 or not a number), so a scaled value is never NaN or infinite.
pub fn scale_factor(report: &SubmissionReport) -> f64 {
    let sum = report.scored_points();
    let max = report.max_score;
    if sum.is_finite() && sum > 0.0 && max.is_finite() && max > 0.0 {
        max / sum
    } else {
        0.0
    }
}

/// A scenario's earned points scaled to the manifest's total (0 for an
/// observe-only scenario).
pub fn scaled_earned(report: &SubmissionReport, scenario: &ScenarioReport) -> f64 {
    scaled(scenario, scenario.earned, scale_factor(report))
}

/// A scenario's possible points scaled to the manifest's total (0 for an
/// observe-only scenario).
pub fn scaled_points(report: &SubmissionReport, scenario: &ScenarioReport) -> f64 {
    scaled(scenario, scenario.points, scale_factor(report))
}

fn scaled(scenario: &ScenarioReport, value: f64, factor: f64) -> f64 {
    if scenario.is_scored() {
        round_points(value * factor)
    } else {
        0.0
    }
}

/// Rounds points for machine-readable formats to 4 decimals, dropping float
/// noise such as `0.30000000000000004`; anything not finite becomes 0.
pub fn round_points(value: f64) -> f64 {
    if !value.is_finite() {
        return 0.0;
    }
    let rounded = (value * 10_000.0).round() / 10_000.0;
    if rounded == 0.0 { 0.0 } else { rounded }
}

/// Points as a person reads them: at most 2 decimals, no trailing zeros
/// (`4`, `2.5`, `4.29`).
pub fn format_points(value: f64) -> String {
    format_decimals(value, 2)
}

/// Points for a gradebook cell: at most 4 decimals, no trailing zeros.
pub(crate) fn format_points_exact(value: f64) -> String {
    format_decimals(value, 4)
}

fn format_decimals(value: f64, decimals: usize) -> String {
    if !value.is_finite() {
        return "0".to_string();
    }
    let text = format!("{value:.decimals$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        &text
    };
    if text == "-0" {
        "0".to_string()
    } else {
        text.to_string()
    }
}

/// Seconds, for wall times shown to people (`0.42 s`, `12.3 s`).
pub(crate) fn format_seconds(secs: f64) -> String {
    if !secs.is_finite() || secs < 0.0 {
        "? s".to_string()
    } else if secs < 10.0 {
        format!("{secs:.2} s")
    } else {
        format!("{secs:.1} s")
    }
}

/// A duration for machine formats: finite, non-negative, millisecond precision.
pub(crate) fn clean_seconds(secs: f64) -> f64 {
    if secs.is_finite() && secs > 0.0 {
        (secs * 1000.0).round() / 1000.0
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_points_without_noise() {
        assert_eq!(format_points(4.0), "4");
        assert_eq!(format_points(2.5), "2.5");
        assert_eq!(format_points(30.0 / 7.0), "4.29");
        assert_eq!(format_points(-0.0001), "0");
        assert_eq!(format_points(f64::NAN), "0");
        assert_eq!(format_points_exact(30.0 / 7.0), "4.2857");
        assert_eq!(format_points_exact(10.0), "10");
    }

    #[test]
    fn rounds_points_for_machines() {
        assert_eq!(round_points(0.1 + 0.2), 0.3);
        assert_eq!(round_points(f64::INFINITY), 0.0);
        assert_eq!(round_points(-0.00001), 0.0);
        assert!(round_points(-0.00001).is_sign_positive());
    }

    #[test]
    fn clean_seconds_never_negative() {
        assert_eq!(clean_seconds(-1.0), 0.0);
        assert_eq!(clean_seconds(f64::NAN), 0.0);
        assert_eq!(clean_seconds(1.23456), 1.235);
        assert_eq!(format_seconds(1.234), "1.23 s");
        assert_eq!(format_seconds(12.34), "12.3 s");
    }
}
