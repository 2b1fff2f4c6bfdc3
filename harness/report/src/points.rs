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

/// Rounds `values` to hundredths so that they add up to `total` rounded to
/// hundredths. Each value starts at its `preferred` hundredths if it has
/// one (a full-marks cell shows the column's maximum), else at its own
/// rounding; the hundredths still missing (or too many) are then moved one
/// at a time, first to values without a preference, then to the others,
/// each time to the value that ends up closest to its exact amount (ties to
/// the earlier value). A value of 0 never changes. Returned as whole
/// hundredths (`223` for 2.23).
///
/// Gradebooks need this: 36 scenario cells each rounded on their own can add
/// up to 99.99 or 100.01 beside a total of 100.
pub fn hundredths_summing_to(values: &[f64], preferred: &[Option<i64>], total: f64) -> Vec<i64> {
    let exact: Vec<f64> = values
        .iter()
        .map(|v| {
            if v.is_finite() {
                v.max(0.0) * 100.0
            } else {
                0.0
            }
        })
        .collect();
    let preferred = |i: usize| preferred.get(i).copied().flatten();
    let mut cents: Vec<i64> = (0..exact.len())
        .map(|i| match preferred(i) {
            Some(p) if exact[i] > 0.0 => p,
            _ => exact[i].round() as i64,
        })
        .collect();
    let target = if total.is_finite() {
        (total.max(0.0) * 100.0).round() as i64
    } else {
        0
    };
    let mut missing = target - cents.iter().sum::<i64>();
    while missing != 0 {
        let step: i64 = if missing > 0 { 1 } else { -1 };
        let mut order: Vec<usize> = (0..exact.len())
            .filter(|&i| exact[i] > 0.0 && cents[i] + step >= 0)
            .collect();
        if order.is_empty() {
            break;
        }
        let error = |i: usize| (exact[i] - (cents[i] + step) as f64).abs();
        order.sort_by(|&a, &b| {
            preferred(a)
                .is_some()
                .cmp(&preferred(b).is_some())
                .then(error(a).total_cmp(&error(b)))
                .then(a.cmp(&b))
        });
        for i in order {
            if missing == 0 {
                break;
            }
            cents[i] += step;
            missing -= step;
        }
    }
    cents
}

/// Whole hundredths as points, e.g. `223` → `2.23`, `1000` → `10`.
pub fn format_hundredths(cents: i64) -> String {
    format_points(cents as f64 / 100.0)
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
    fn hundredths_add_up_to_the_total() {
        // Three equal scenarios of a 100-point suite: 33.33 each would add
        // up to 99.99.
        assert_eq!(
            hundredths_summing_to(&[100.0 / 3.0; 3], &[], 100.0),
            [3334, 3333, 3333]
        );
        // The Lab 3 suite: 36 scenarios, 179 raw points scaled to 100.
        let raw = [
            4.0, 3.0, 3.0, 3.0, 3.0, 4.0, 4.0, 4.0, 4.0, 3.0, 3.0, 2.0, 6.0, 6.0, 3.0, 8.0, 6.0,
            4.0, 8.0, 6.0, 6.0, 6.0, 3.0, 5.0, 2.0, 10.0, 10.0, 6.0, 3.0, 3.0, 6.0, 8.0, 8.0, 8.0,
            4.0, 4.0,
        ];
        let sum: f64 = raw.iter().sum();
        let scaled: Vec<f64> = raw.iter().map(|p| p * 100.0 / sum).collect();
        let max = hundredths_summing_to(&scaled, &[], 100.0);
        assert_eq!(max.iter().sum::<i64>(), 10_000);
        for (c, v) in max.iter().zip(&scaled) {
            assert!((*c as f64 - v * 100.0).abs() < 1.0, "{c} vs {v}");
        }

        // A student who lost two scenarios and part of a third: the total is
        // the score rounded once; full-marks cells keep the column's maximum
        // and the partial cell takes up the difference.
        let mut earned = scaled.clone();
        earned[0] = 0.0;
        earned[5] = 0.0;
        earned[12] = scaled[12] * 0.37;
        let score = earned.iter().sum::<f64>();
        let preferred: Vec<Option<i64>> = earned
            .iter()
            .zip(&scaled)
            .zip(&max)
            .map(|((e, s), m)| (e == s).then_some(*m))
            .collect();
        let cents = hundredths_summing_to(&earned, &preferred, score);
        assert_eq!(cents.iter().sum::<i64>(), (score * 100.0).round() as i64);
        assert_eq!((cents[0], cents[5]), (0, 0), "zeros stay zero");
        for i in (0..raw.len()).filter(|i| ![0, 5, 12].contains(i)) {
            assert_eq!(cents[i], max[i], "full marks in column {i}");
        }
        assert!((cents[12] as f64 - earned[12] * 100.0).abs() < 2.0);

        // Without a partial cell a full one must give: by one hundredth.
        earned[12] = scaled[12];
        let score = earned.iter().sum::<f64>();
        let cents = hundredths_summing_to(
            &earned,
            &max.iter().map(|m| Some(*m)).collect::<Vec<_>>(),
            score,
        );
        assert_eq!(cents.iter().sum::<i64>(), (score * 100.0).round() as i64);
        let off: Vec<i64> = cents
            .iter()
            .zip(&max)
            .filter(|(c, _)| **c != 0)
            .map(|(c, m)| c - m)
            .filter(|d| *d != 0)
            .collect();
        assert!(
            off.len() <= 1 && off.iter().all(|d| d.abs() == 1),
            "{off:?}"
        );

        // Ties go to the earlier value; zeros stay zero.
        let cents = hundredths_summing_to(&[1.0 / 3.0, 1.0 / 3.0, 0.0, 1.0 / 3.0], &[], 1.0);
        assert_eq!(cents, [34, 33, 0, 33]);
        assert_eq!(hundredths_summing_to(&[0.1, 0.2], &[], 0.3), [10, 20]);
        assert_eq!(hundredths_summing_to(&[], &[], 5.0), Vec::<i64>::new());
        assert_eq!(hundredths_summing_to(&[0.0, f64::NAN], &[], 1.0), [0, 0]);
        assert_eq!(format_hundredths(223), "2.23");
        assert_eq!(format_hundredths(1000), "10");
        assert_eq!(format_hundredths(250), "2.5");
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
