use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use socklab_report::render_junit;

use crate::fixtures::*;

fn property<'a>(properties: &'a [quick_junit::Property], name: &str) -> &'a str {
    properties
        .iter()
        .find(|p| p.name.as_str() == name)
        .unwrap_or_else(|| panic!("no property {name}"))
        .value
        .as_str()
}

fn case<'a>(suite: &'a TestSuite, name: &str) -> &'a TestCase {
    suite
        .test_cases
        .iter()
        .find(|c| c.name.as_str() == name)
        .unwrap_or_else(|| panic!("no test case {name}"))
}

#[test]
fn one_suite_per_submission_with_the_right_counts() {
    let xml = render_junit(&all());
    let report = Report::deserialize_from_str(&xml).expect("well-formed JUnit");
    assert_eq!(report.test_suites.len(), 6);
    let bob = &report.test_suites[1];
    assert_eq!(bob.name.as_str(), "bob");
    assert_eq!(bob.tests, 6);
    assert_eq!(bob.failures, 2);
    assert_eq!(bob.errors, 1);
    // alice 3, bob 6, the hostile one 1, carol none, dave 2, carol (packets) 2.
    let counts: usize = [3, 6, 1, 0, 2, 2].iter().sum();
    assert_eq!(report.tests, counts);
    assert_eq!(report.errors, 1 + 2);
    assert_eq!(property(&bob.properties, "score"), "5.5");
    assert_eq!(property(&bob.properties, "max_score"), "30");
    assert_eq!(property(&bob.properties, "build"), "failed");
    assert!(
        bob.system_err
            .as_ref()
            .unwrap()
            .contains("expected ';' before 'return'")
    );

    let lottery = case(bob, "lottery");
    assert_eq!(lottery.classname.as_ref().unwrap().as_str(), "bob");
    assert_eq!(property(&lottery.properties, "score"), "1.5");
    assert_eq!(property(&lottery.properties, "max_score"), "6");
    match &lottery.status {
        TestCaseStatus::NonSuccess {
            kind: NonSuccessKind::Failure,
            message,
            description,
            ..
        } => {
            let message = message.as_ref().unwrap();
            assert!(
                message.contains("LotteryClient prints the reply"),
                "{message:?}"
            );
            let description = description.as_ref().unwrap();
            assert!(description.contains("expected: You won"), "{description:?}");
            assert!(
                description.contains("got:      You lost  \n"),
                "{description:?}"
            );
            assert!(description.contains("3 later checks not reached"));
        }
        other => panic!("lottery should fail: {other:?}"),
    }
    assert!(
        lottery
            .system_out
            .as_ref()
            .unwrap()
            .contains("got command 3")
    );
    assert!(matches!(
        case(bob, "echo").status,
        TestCaseStatus::NonSuccess {
            kind: NonSuccessKind::Error,
            ..
        }
    ));
    match &case(bob, "ft-two-hosts").status {
        TestCaseStatus::Skipped { message, .. } => {
            assert!(message.as_ref().unwrap().contains("needs separate hosts"))
        }
        other => panic!("should be skipped: {other:?}"),
    }
    let zombies = case(bob, "echo-zombies");
    assert!(matches!(zombies.status, TestCaseStatus::Success { .. }));
    assert_eq!(property(&zombies.properties, "max_score"), "0");
    assert_eq!(property(&zombies.properties, "observe"), "true");

    // Scaled: alice's 4 of 10 points are 12 of 30.
    let alice = &report.test_suites[0];
    assert_eq!(property(&case(alice, "daytime").properties, "score"), "12");
    assert!(report.test_suites[3].test_cases.is_empty());
}

#[test]
fn hostile_strings_are_escaped_and_control_bytes_replaced() {
    let xml = render_junit(&[hostile()]);
    assert!(
        !xml.chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\t')),
        "control character in XML"
    );
    assert!(!xml.contains('\u{ffff}'));
    assert!(!xml.contains("<script"));
    let report = Report::deserialize_from_str(&xml).expect("well-formed JUnit");
    let suite = &report.test_suites[0];
    assert_eq!(
        suite.name.as_str(),
        "Doe, \"JJ\"\\n</pre><script>alert(1)</script>\\x00"
    );
    let evil = &suite.test_cases[0];
    assert_eq!(evil.name.as_str(), "evil, \"quoted\"\\nname <b>");
    match &evil.status {
        TestCaseStatus::NonSuccess { description, .. } => {
            let description = description.as_ref().unwrap();
            assert!(description.contains("</pre><script>alert('sent')</script>"));
            assert!(
                description.contains("\\x00\\x1b[2J``` & <img"),
                "{description:?}"
            );
            assert!(description.contains("]]><!-- & \"quoted\""));
        }
        other => panic!("should fail: {other:?}"),
    }
}
