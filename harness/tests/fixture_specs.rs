//! The fixture specs are right before anything is graded: every
//! `tests/fixtures/submissions/*/fixture.yaml` is well-formed, agrees with
//! its folder (only changed files, the programs at fault, removed files) and
//! names only scenarios the suite has; a fixture lays out as a whole
//! submission; spec mistakes are reported at their place with a fix; and the
//! README's tables are the specs' (generated here: `SOCKLAB_BLESS=1 cargo
//! test -p socklab --test fixture_specs` rewrites them).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use common::fixtures::{FixtureSet, FixtureSpec, SPEC_FILE};
use common::*;

#[test]
fn every_spec_names_scenarios_of_the_suite() {
    let specs = fixture_specs();
    let dir = tempfile::tempdir().unwrap();
    let mut known: BTreeMap<&BTreeMap<String, String>, (std::path::PathBuf, BTreeSet<String>)> =
        BTreeMap::new();
    let mut problems = Vec::new();
    for spec in &specs {
        let next = known.len();
        let (lab, names) = known.entry(&spec.options).or_insert_with(|| {
            let folder = dir.path().join(format!("options-{next}"));
            std::fs::create_dir_all(&folder).unwrap();
            let lab = lab3_with_options(&folder, &spec.options);
            let names = scenario_names(&lab);
            (lab, names)
        });
        problems.extend(spec.unknown_scenarios(names, lab));
    }
    let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    assert!(text.is_empty(), "{}", text.join("\n"));
    assert!(
        specs.iter().any(|s| !s.must_fail.is_empty()),
        "the specs were read"
    );
}

#[test]
fn a_fixture_lays_out_as_its_base_with_its_changes() {
    let dir = tempfile::tempdir().unwrap();
    let base = good();
    // The base's README describes the base, not the fixture.
    let mut base_files = sorted_files(&base);
    base_files.retain(|f| f != "README.md");

    // Changed files replace the base's; the spec is not part of the submission.
    let echo = lay_out_fixture("echo-iterative", dir.path());
    assert_eq!(sorted_files(&echo), base_files);
    for file in &base_files {
        let laid = std::fs::read(echo.join(file)).unwrap();
        let expected = if file == "tcpserv.c" {
            std::fs::read(repo().join("tests/fixtures/submissions/echo-iterative/tcpserv.c"))
        } else {
            std::fs::read(base.join(file))
        }
        .unwrap();
        assert!(laid == expected, "{file} of echo-iterative");
    }
    assert!(!echo.join(SPEC_FILE).exists());

    // Removed files are gone; added files are there.
    let missing = lay_out_fixture("missing-program", dir.path());
    let mut expected: Vec<String> = base_files
        .iter()
        .filter(|f| *f != "FTServerIter.c")
        .cloned()
        .collect();
    assert_eq!(sorted_files(&missing), expected);
    let with_makefile = lay_out_fixture("with-makefile", dir.path());
    expected = base_files.clone();
    expected.push("Makefile".to_string());
    expected.sort();
    assert_eq!(sorted_files(&with_makefile), expected);

    // A folder already holding files is not overwritten.
    let spec = FixtureSet::of_repo().load("echo-iterative").unwrap();
    let refused = spec.lay_out(&echo).unwrap_err();
    assert!(refused.to_string().contains("not empty"), "{refused}");
}

/// Writes a fixture `name` with `spec` and `files` into a fixtures folder
/// of its own, laid over the repository's bases and lab.
fn scratch_fixture(root: &Path, name: &str, spec: &str, files: &[(&str, &[u8])]) -> FixtureSet {
    let folder = root.join("fixtures").join(name);
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join(SPEC_FILE), spec).unwrap();
    for (file, data) in files {
        std::fs::write(folder.join(file), data).unwrap();
    }
    FixtureSet {
        fixtures: root.join("fixtures"),
        ..FixtureSet::of_repo()
    }
}

fn problems_of(set: &FixtureSet, name: &str) -> String {
    set.load(name)
        .expect_err("the spec has mistakes")
        .to_string()
}

#[test]
fn a_misspelt_key_is_shown_at_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let set = scratch_fixture(
        dir.path(),
        "typo",
        "defect: a defect\nprograms: []\nsymptom: a symptom\nmust_fial: []\n",
        &[],
    );
    let text = problems_of(&set, "typo");
    assert!(
        text.contains("typo/fixture.yaml:4:1: unknown field `must_fial`"),
        "{text}"
    );
    assert!(text.contains("   4 | must_fial: []"), "{text}");
    assert!(text.contains("help: the keys are"), "{text}");
}

#[test]
fn a_spec_that_disagrees_with_its_folder_says_what_to_fix() {
    let dir = tempfile::tempdir().unwrap();
    let good_tcpserv = std::fs::read(good().join("tcpserv.c")).unwrap();
    let set = scratch_fixture(
        dir.path(),
        "mixed-up",
        "defect: a defect\n\
         programs: [tcpserve, FTClient]\n\
         symptom: a symptom\n\
         removed: [FTServerIter.cc]\n\
         options: { echo_mod: sum }\n\
         must_fail: [echo/long-stream]\n\
         may_fail:\n  - scenario: echo/long-stream\n    why: ''\n",
        &[("tcpserv.c", &good_tcpserv), ("FTServer.c", b"int main;\n")],
    );
    let text = problems_of(&set, "mixed-up");
    for expected in [
        "mixed-up/fixture.yaml:2:12: `tcpserve` is not a program of scenarios/lab3/lab.yaml",
        "   2 | programs: [tcpserve, FTClient]",
        "help: did you mean `tcpserv`?",
        ":4:11: removed file `FTServerIter.cc` is not in examples/submissions/good",
        ":5:22: `echo_mod` is not a course option",
        "did you mean `echo_mode`?",
        ":8:15: `echo/long-stream` is listed twice",
        ":9:10: may_fail `echo/long-stream` does not say why",
        "mixed-up/tcpserv.c: is identical to",
        "help: delete it: a fixture keeps only the files it changes",
        "`FTClient` is named at fault but the fixture neither changes nor removes FTClient.c",
        "the fixture changes or removes FTServer.c but `programs` does not name `FTServer`",
    ] {
        assert!(text.contains(expected), "`{expected}` missing in:\n{text}");
    }

    let set = scratch_fixture(
        dir.path(),
        "other-base",
        "base: goood\ndefect: a defect\nsymptom: a symptom\n",
        &[],
    );
    let text = problems_of(&set, "other-base");
    assert!(
        text.contains(
            "other-base/fixture.yaml:1:7: base `goood` is not a submission under examples/submissions"
        ) && text.contains("help: name one of: good"),
        "{text}"
    );
}

#[test]
fn an_unknown_scenario_is_named_with_the_closest_one() {
    let dir = tempfile::tempdir().unwrap();
    let set = scratch_fixture(
        dir.path(),
        "wrong-name",
        "defect: a defect\n\
         programs: [tcpserv]\n\
         symptom: a symptom\n\
         must_fail:\n  - echo/two-client-at-once\n",
        &[("tcpserv.c", b"int main;\n")],
    );
    let spec = set.load("wrong-name").unwrap();
    let problems = spec.unknown_scenarios(&scenario_names(&lab3()), &lab3());
    let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(text.len(), 1, "{text:?}");
    assert!(
        text[0].contains(
            "wrong-name/fixture.yaml:5:5: `echo/two-client-at-once` is not a scenario of scenarios/lab3/lab.yaml"
        ) && text[0].contains("did you mean `echo/two-clients-at-once`?"),
        "{}",
        text[0]
    );

    // Names are checked against the suite under the fixture's options:
    // echo/sum-variant is left out of a sum course.
    let set = scratch_fixture(
        dir.path(),
        "sum-course",
        "defect: a defect\n\
         programs: [tcpserv]\n\
         symptom: a symptom\n\
         options: { echo_mode: sum }\n\
         must_fail: [echo/long-stream, echo/sum-variant]\n",
        &[("tcpserv.c", b"int main;\n")],
    );
    let spec = set.load("sum-course").unwrap();
    let lab = lab3_with_options(dir.path(), &spec.options);
    let problems = spec.unknown_scenarios(&scenario_names(&lab), &lab);
    let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(text.len(), 1, "{text:?}");
    assert!(
        text[0].contains(":5:31: `echo/sum-variant` is not a scenario of")
            && text[0].contains("under the options {echo_mode: sum}"),
        "{}",
        text[0]
    );
}

#[test]
fn a_fixture_folder_without_a_spec_is_a_mistake() {
    let dir = tempfile::tempdir().unwrap();
    let set = scratch_fixture(
        dir.path(),
        "fine",
        "defect: a defect\nsymptom: a symptom\n",
        &[],
    );
    std::fs::create_dir_all(set.fixtures.join("bare")).unwrap();
    let problems = set
        .load_all()
        .expect_err("a folder has no spec")
        .to_string();
    assert!(
        problems.contains("bare/fixture.yaml: fixture `bare` has no readable fixture.yaml"),
        "{problems}"
    );
    assert!(!problems.contains("fine"), "{problems}");
    let text = problems_of(&set, "bare");
    assert!(text.contains("has no readable fixture.yaml"), "{text}");
    let text = problems_of(&set, "fin");
    assert!(
        text.contains("there is no fixture `fin`") && text.contains("did you mean `fine`?"),
        "{text}"
    );
}

#[test]
fn a_hostile_fixture_states_what_must_hold_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let set = scratch_fixture(
        dir.path(),
        "hostile-x",
        "defect: a defect\n\
         programs: [tcpserv]\n\
         symptom: a symptom\n\
         must_hold: it is contained\n\
         must_fail: [echo/long-stream]\n",
        &[("tcpserv.c", b"int main;\n")],
    );
    let text = problems_of(&set, "hostile-x");
    assert!(
        text.contains(":5:13: a hostile fixture (one with `must_hold`) has no must_fail"),
        "{text}"
    );
}

// ---------------------------------------------------------------- README

const README: &str = "tests/fixtures/submissions/README.md";

/// The README's generated blocks, by marker name.
fn readme_blocks(specs: &[FixtureSpec]) -> Vec<(&'static str, String)> {
    let mut defects = String::from(
        "| fixture | programs at fault | defect | symptom | scenarios that must fail | scenarios that may fail (why) |\n\
         |---|---|---|---|---|---|\n",
    );
    let mut hostile = String::from(
        "| fixture | program | defect | symptom | how socklab must report it |\n\
         |---|---|---|---|---|\n",
    );
    for spec in specs {
        let fixture = format!("[`{0}`]({0}/{SPEC_FILE})", spec.name);
        let programs = if spec.programs.is_empty() {
            "none".to_string()
        } else {
            code_list(spec.programs.iter())
        };
        let defect = cell(&spec.defect);
        let symptom = cell(&spec.symptom);
        if let Some(hold) = &spec.must_hold {
            hostile.push_str(&format!(
                "| {fixture} | {programs} | {defect} | {symptom} | {} |\n",
                cell(hold)
            ));
            continue;
        }
        let mut must = if spec.must_fail.is_empty() {
            "none (full marks)".to_string()
        } else {
            code_list(spec.must_fail.iter().map(|s| &s.value))
        };
        if !spec.must_observe.is_empty() {
            must = format!(
                "{must}; observed (not scored), must show the defect: {}",
                code_list(spec.must_observe.iter().map(|s| &s.value))
            );
        }
        if !spec.options.is_empty() {
            let options: Vec<String> = spec
                .options
                .iter()
                .map(|(k, v)| format!("`{k}: {v}`"))
                .collect();
            must = format!("graded with {}: {must}", options.join(", "));
        }
        let may: Vec<String> = spec
            .may_fail
            .iter()
            .map(|m| format!("`{}`: {}", m.scenario.value, cell(&m.why)))
            .collect();
        let may = if may.is_empty() {
            "none".to_string()
        } else {
            may.join("<br>")
        };
        defects.push_str(&format!(
            "| {fixture} | {programs} | {defect} | {symptom} | {must} | {may} |\n"
        ));
    }
    vec![("defects", defects), ("hostile", hostile)]
}

fn code_list<'a>(items: impl Iterator<Item = &'a String>) -> String {
    items
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Text fit for one table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// `readme` with each block's lines between its markers replaced.
fn with_blocks(readme: &str, blocks: &[(&str, String)]) -> Result<String, String> {
    let mut text = readme.to_string();
    for (name, content) in blocks {
        let begin = format!("<!-- BEGIN generated: {name} -->\n");
        let end = format!("<!-- END generated: {name} -->");
        let (Some(start), Some(stop)) = (text.find(&begin), text.find(&end)) else {
            return Err(format!(
                "{README} lacks the lines `{}` and `{end}` around the {name} table",
                begin.trim_end()
            ));
        };
        if stop < start {
            return Err(format!("{README}: `{end}` comes before its BEGIN line"));
        }
        text.replace_range(start + begin.len()..stop, content);
    }
    Ok(text)
}

#[test]
fn the_readme_tables_are_the_specs() {
    let path = repo().join(README);
    let readme = std::fs::read_to_string(&path).unwrap();
    let wanted =
        with_blocks(&readme, &readme_blocks(&fixture_specs())).unwrap_or_else(|e| panic!("{e}"));
    if wanted == readme {
        return;
    }
    if std::env::var_os("SOCKLAB_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&path, &wanted).unwrap();
        eprintln!("rewrote {README} from the specs");
        return;
    }
    panic!(
        "{README} does not show what the fixture specs say (- README, + specs):\n{}\n\
         Run `SOCKLAB_BLESS=1 cargo test -p socklab --test fixture_specs` to rewrite its tables.",
        line_diff(&readme, &wanted)
    );
}

/// The lines that differ, as `-`/`+` lines with their line numbers
/// (a longest-common-subsequence diff; the README is small).
fn line_diff(old: &str, new: &str) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let mut common = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            common[i][j] = if a[i] == b[j] {
                common[i + 1][j + 1] + 1
            } else {
                common[i + 1][j].max(common[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || common[i + 1][j] >= common[i][j + 1]) {
            out.push(format!("-{:>4} {}", i + 1, a[i]));
            i += 1;
        } else {
            out.push(format!("+{:>4} {}", j + 1, b[j]));
            j += 1;
        }
    }
    out.join("\n")
}

#[test]
fn the_readme_check_shows_the_exact_difference() {
    let readme =
        "intro\n<!-- BEGIN generated: t -->\n| a |\n| b |\n<!-- END generated: t -->\nend\n";
    let wanted = with_blocks(readme, &[("t", "| a |\n| c |\n".to_string())]).unwrap();
    assert_eq!(
        wanted,
        "intro\n<!-- BEGIN generated: t -->\n| a |\n| c |\n<!-- END generated: t -->\nend\n"
    );
    assert_eq!(line_diff(readme, &wanted), "-   4 | b |\n+   4 | c |");
    let missing = with_blocks("no markers\n", &[("t", String::new())]).unwrap_err();
    assert!(missing.contains("lacks the lines"), "{missing}");
}

fn sorted_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}
