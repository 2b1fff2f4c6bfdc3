//! A class run compiles each distinct program once (`build/cache.rs`):
//! students who hand in the same source share one compile, and a student
//! whose source differs gets a compile of its own.

mod common;

use std::path::Path;

use common::*;

#[test]
fn the_same_source_is_compiled_once_and_a_changed_one_again() {
    let root = tempfile::tempdir().unwrap();
    let class = root.path().join("class");
    for name in ["ann", "bob", "cat"] {
        copy_dir(&good(), &class.join(name));
    }
    // Cat's daytime server sends an empty line instead of the time.
    let server = class.join("cat/daytimetcpsrv.c");
    let source = std::fs::read_to_string(&server).unwrap();
    let changed = source.replace(
        "\"%.24s\\r\\n\", ctime(&ticks)",
        "\"\\r\\n%.0s\", ctime(&ticks)",
    );
    assert_ne!(
        source, changed,
        "the good server formats the time as expected"
    );
    std::fs::write(&server, changed).unwrap();

    let out = root.path().join("out");
    // One student at a time, so Bob's compile comes after Ann's.
    let said = grade(&class, &out, &["-j", "1"]);
    assert!(
        said.contains("1 of 3 compiled programs were the same as one compiled before and reused"),
        "{said}"
    );
    for name in ["ann", "bob"] {
        let report = student_report(&out, name);
        assert_eq!(
            scenarios_with(&report, "passed"),
            ["daytime/server-sends-time-and-closes"],
            "{name}"
        );
    }
    let cat = student_report(&out, "cat");
    assert_eq!(
        scenarios_with(&cat, "failed"),
        ["daytime/server-sends-time-and-closes"],
        "cat's own server, not Ann's, was graded"
    );

    // Turned off, every student compiles its own, with the same grades.
    let apart = root.path().join("apart");
    let said = grade(&class, &apart, &["--no-shared-builds"]);
    assert!(!said.contains("reused"), "{said}");
    assert_eq!(
        std::fs::read_to_string(apart.join("grades.csv")).unwrap(),
        std::fs::read_to_string(out.join("grades.csv")).unwrap()
    );
}

/// `socklab grade` of the class on the daytime server scenario, into
/// `out`; what it said on stderr (it must succeed).
fn grade(class: &Path, out: &Path, args: &[&str]) -> String {
    let graded = socklab()
        .arg("grade")
        .arg(lab3())
        .arg("--submissions")
        .arg(class)
        .arg("--out")
        .arg(out)
        .args(["--only", "daytime/server-sends-time-and-closes"])
        .args(args)
        .output()
        .expect("socklab runs");
    let said = String::from_utf8_lossy(&graded.stderr).into_owned();
    assert!(graded.status.success(), "{said}");
    said
}
