use socklab_report::model::{ScenarioStatus, SubmissionReport};
use socklab_report::render_grades_csv;

use crate::fixtures::*;

/// A strict RFC 4180 reader: CRLF record ends, quoted fields with doubled quotes.
fn parse(csv: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut chars = csv.chars().peekable();
    let mut quoted = false;
    let mut at_field_start = true;
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    quoted = false;
                }
            } else {
                field.push(c);
            }
            continue;
        }
        match c {
            '"' if at_field_start => {
                quoted = true;
                at_field_start = false;
            }
            '"' => panic!("quote inside an unquoted field"),
            ',' => {
                record.push(std::mem::take(&mut field));
                at_field_start = true;
            }
            '\r' => {
                assert_eq!(chars.next(), Some('\n'), "CR without LF");
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
                at_field_start = true;
            }
            '\n' => panic!("bare LF outside quotes"),
            _ => {
                field.push(c);
                at_field_start = false;
            }
        }
    }
    assert!(!quoted, "unterminated quoted field");
    assert!(
        field.is_empty() && record.is_empty(),
        "last record not ended"
    );
    records
}

#[test]
fn one_row_per_student_sorted_with_scaled_points() {
    let csv = render_grades_csv(&[troubled(), passing(), empty()]);
    let rows = parse(&csv);
    assert_eq!(
        rows[0],
        [
            "student",
            "status",
            "daytime",
            "lottery",
            "ft-two-hosts",
            "echo",
            "ft-transfer",
            "total",
            "max"
        ]
    );
    assert_eq!(
        rows[1],
        [
            "(max points)",
            "max points",
            "12",
            "18",
            "5",
            "5",
            "10",
            "30",
            "30"
        ],
        "the maximum of each column, from the first student who has it"
    );
    assert_eq!(
        rows[2],
        ["alice", "graded", "12", "18", "", "", "", "30", "30"]
    );
    assert_eq!(
        rows[3],
        [
            "bob",
            "build failed: FTClient (failed); socklab error in 1 scenario (grade again)",
            "4",
            "1.5",
            "0",
            "0",
            "0",
            "5.5",
            "30"
        ]
    );
    assert_eq!(
        rows[4],
        ["carol", "no scenario ran", "", "", "", "", "", "0", "30"]
    );
    assert_eq!(rows.len(), 5);
    assert!(rows.iter().all(|r| r.len() == rows[0].len()));
}

#[test]
fn a_file_that_is_not_a_submission_has_no_grade() {
    let rows = parse(&render_grades_csv(&[passing(), not_a_submission()]));
    let erin = rows.iter().find(|r| r[0] == "erin.txt").expect("a row");
    assert_eq!(erin[1], "not a submission");
    assert!(
        erin[2..].iter().all(String::is_empty),
        "no points, no total, no maximum: {erin:?}"
    );
    // It adds no column either.
    assert_eq!(rows[0].len(), 2 + 2 + 2);
}

/// Three equal scenarios scaled to 100, for rounding.
fn thirds(name: &str, earned: [f64; 3]) -> SubmissionReport {
    let mut report = passing();
    report.submission = name.to_string();
    report.scenarios = ["a", "b", "c"]
        .iter()
        .zip(earned)
        .map(|(n, e)| {
            let status = if e >= 1.0 {
                ScenarioStatus::Passed
            } else {
                ScenarioStatus::Failed
            };
            scenario(n, status, e, 1.0)
        })
        .collect();
    report.max_score = 100.0;
    report.score = (earned.iter().sum::<f64>() * 100.0 / 3.0 * 100.0).round() / 100.0;
    report
}

fn hundredths(cell: &str) -> i64 {
    (cell.parse::<f64>().unwrap() * 100.0).round() as i64
}

#[test]
fn scenario_cells_add_up_to_the_total_as_written() {
    let reports = [
        thirds("full", [1.0, 1.0, 1.0]),
        thirds("two", [1.0, 1.0, 0.0]),
        thirds("partial", [1.0, 0.5, 0.25]),
        thirds("tiny", [0.001, 0.0, 0.0]),
    ];
    let rows = parse(&render_grades_csv(&reports));
    let header = &rows[0];
    let total = header.iter().position(|h| h == "total").unwrap();
    for row in &rows[1..] {
        let cells: i64 = row[2..total]
            .iter()
            .filter(|c| !c.is_empty())
            .map(|c| hundredths(c))
            .sum();
        assert_eq!(cells, hundredths(&row[total]), "{row:?}");
        for cell in &row[2..=total + 1] {
            let decimals = cell.split_once('.').map_or(0, |(_, d)| d.len());
            assert!(decimals <= 2, "at most 2 decimals: {row:?}");
        }
    }
    let row = |name: &str| rows.iter().find(|r| r[0] == name).unwrap().clone();
    assert_eq!(
        row("(max points)")[2..6],
        ["33.34", "33.33", "33.33", "100"]
    );
    assert_eq!(row("full")[2..6], row("(max points)")[2..6]);
    assert_eq!(
        row("two")[2..6],
        ["33.34", "33.33", "0", "66.67"],
        "full marks show the column's maximum"
    );
    assert_eq!(row("partial")[5], "58.33");
    assert_eq!(row("tiny")[2..6], ["0.03", "0", "0", "0.03"]);
}

#[test]
fn awkward_names_parse_back_to_the_same_cells() {
    let mut report = hostile();
    report.submission = "Doe, \"JJ\"\nline two".to_string();
    let rows = parse(&render_grades_csv(&[report, passing()]));
    assert_eq!(rows[0][2], "evil, \"quoted\"\nname <b>");
    let doe = rows.iter().find(|r| r[0].starts_with("Doe")).unwrap();
    assert_eq!(doe[0], "Doe, \"JJ\"\nline two");
    assert_eq!(doe[2], "0");
    // Control bytes are made visible rather than written raw.
    let rows = parse(&render_grades_csv(&[hostile()]));
    assert_eq!(
        rows[2][0],
        "Doe, \"JJ\"\n</pre><script>alert(1)</script>\\x00"
    );
}

#[test]
fn formulas_in_names_are_text_and_numbers_stay_numbers() {
    let named = |name: &str| {
        let mut r = passing();
        r.submission = name.to_string();
        r
    };
    let mut scenario_named = troubled();
    scenario_named.scenarios[0].name = "=1+1".to_string();
    let rows = parse(&render_grades_csv(&[
        named("=cmd|' /C calc'!A0"),
        named("+SUM(1)"),
        named("-2+3"),
        named("@SUM(A1)"),
        named("\t=HYPERLINK(\"http://x\")"),
        scenario_named,
    ]));
    let names: Vec<&str> = rows[2..].iter().map(|r| r[0].as_str()).collect();
    for name in names.iter().filter(|n| **n != "bob") {
        assert!(name.starts_with('\''), "{name:?} is neutralised");
    }
    assert!(names.contains(&"'=cmd|' /C calc'!A0"), "{names:?}");
    assert!(names.contains(&"'\t=HYPERLINK(\"http://x\")"), "{names:?}");
    assert!(
        rows[0].contains(&"'=1+1".to_string()),
        "headers too: {:?}",
        rows[0]
    );
    for row in &rows[1..] {
        for cell in row[2..].iter().filter(|c| !c.is_empty()) {
            assert!(cell.parse::<f64>().is_ok(), "{cell:?} is a plain number");
        }
    }
}

#[test]
fn no_reports_still_give_a_header() {
    assert_eq!(
        parse(&render_grades_csv(&[])),
        vec![vec!["student", "status", "total", "max"]]
    );
}
