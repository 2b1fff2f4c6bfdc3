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
            "daytime",
            "lottery",
            "ft-two-hosts",
            "echo",
            "ft-transfer",
            "total",
            "max"
        ]
    );
    assert_eq!(rows[1], ["alice", "12", "18", "", "", "", "30", "30"]);
    assert_eq!(rows[2], ["bob", "4", "1.5", "0", "0", "0", "5.5", "30"]);
    assert_eq!(rows[3], ["carol", "", "", "", "", "", "0", "30"]);
    assert_eq!(rows.len(), 4);
    assert!(rows.iter().all(|r| r.len() == rows[0].len()));
}

#[test]
fn awkward_names_parse_back_to_the_same_cells() {
    let mut report = hostile();
    report.submission = "Doe, \"JJ\"\nline two".to_string();
    let rows = parse(&render_grades_csv(&[report, passing()]));
    assert_eq!(rows[0][1], "evil, \"quoted\"\nname <b>");
    assert_eq!(rows[1][0], "Doe, \"JJ\"\nline two");
    assert_eq!(rows[1][1], "0");
    // Control bytes are made visible rather than written raw.
    let rows = parse(&render_grades_csv(&[hostile()]));
    assert_eq!(
        rows[1][0],
        "Doe, \"JJ\"\n</pre><script>alert(1)</script>\\x00"
    );
}

#[test]
fn no_reports_still_give_a_header() {
    assert_eq!(
        parse(&render_grades_csv(&[])),
        vec![vec!["student", "total", "max"]]
    );
}
