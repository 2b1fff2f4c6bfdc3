//! The bundled Lab 3 suite is valid and adds up.

use std::collections::BTreeMap;
use std::path::Path;

#[test]
fn lab3_suite_validates() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/lab3/lab.yaml");
    let (lab, files) = match socklab_scenario::load_manifest(&manifest) {
        Ok(loaded) => loaded,
        Err(d) => panic!("the Lab 3 suite does not validate:\n{d}"),
    };
    assert_eq!(lab.lab, "lab3");
    assert_eq!(lab.total, Some(100.0));
    assert_eq!(lab.programs.len(), 10);
    let scenarios: Vec<_> = files.iter().flat_map(|f| &f.scenarios).collect();
    assert!(scenarios.len() >= 30, "{} scenarios", scenarios.len());
    let observe = scenarios.iter().filter(|s| s.observe).count();
    assert!(
        observe >= 2,
        "the lab's questions are observe-only scenarios"
    );
    assert!(scenarios.iter().any(|s| s.needs_separate_hosts()));
}

/// Under every combination of course options the suite has unique names and
/// the same scenarios (and points), but for the one that exists only for the
/// echo course (the client against tcpserv08, observed there, not scored;
/// a sum course's own echo/short-line scores it).
#[test]
fn lab3_suite_is_the_same_under_every_course_option() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/lab3/lab.yaml");
    let (lab, files) = socklab_scenario::load_manifest(&manifest).unwrap();
    let mut suites = Vec::new();
    // Each iterative file-transfer convention: ft_iterative, ft_end_of_file,
    // ft_end_of_session (the last changes no scenario, only the reference programs).
    let conventions = [
        ("new-connection", "len-0", "client-closes"),
        ("marker", "len-0", "client-closes"),
        (
            "one-connection",
            "len-0",
            "client-sends TERMINATE CONNECTION",
        ),
        ("one-connection", "short-segment", "client-closes"),
    ];
    for echo_mode in ["echo", "sum"] {
        for (ft_iterative, ft_end_of_file, ft_end_of_session) in conventions {
            let mut options = lab.options.clone();
            options.insert("echo_mode".into(), echo_mode.into());
            options.insert("ft_iterative".into(), ft_iterative.into());
            options.insert("ft_end_of_file".into(), ft_end_of_file.into());
            options.insert("ft_end_of_session".into(), ft_end_of_session.into());
            let mut names = BTreeMap::new();
            for s in files.iter().flat_map(|f| &f.scenarios) {
                if s.applies_to(Some(&options)) {
                    let earlier = names.insert(s.name.clone(), s.points);
                    assert!(earlier.is_none(), "{} twice under {options:?}", s.name);
                }
            }
            if echo_mode == "sum" {
                // Observe-only (no points) in the echo course, absent in the
                // sum course, whose echo/short-line scores the same thing.
                names.insert("echo/sum-variant".into(), 0.0);
            }
            suites.push((options, names));
        }
    }
    let (first_options, first) = &suites[0];
    for (options, names) in &suites[1..] {
        assert_eq!(
            names, first,
            "the suite under {options:?} differs from under {first_options:?}"
        );
    }
}

/// The lab's CPU allowance at full speed is read from `limits`, and a
/// value that is no duration is shown where it is written.
#[test]
fn slow_down_after_is_a_located_duration() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/lab3/lab.yaml");
    let (lab, _) = socklab_scenario::load_manifest(&manifest).unwrap();
    assert_eq!(
        lab.limits.slow_down_after,
        std::time::Duration::from_millis(250)
    );

    let dir = std::env::temp_dir().join(format!("socklab-slow-down-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("lab.yaml");
    std::fs::write(
        &bad,
        "lab: x\nprograms: { A: {} }\nlimits:\n  cpu: 10s\n  slow_down_after: soonish\nscenarios: []\n",
    )
    .unwrap();
    let text = match socklab_scenario::load_manifest(&bad) {
        Ok(_) => panic!("a manifest with `slow_down_after: soonish` loaded"),
        Err(d) => d.to_string(),
    };
    let _ = std::fs::remove_dir_all(&dir);
    assert!(text.contains("`soonish` is not a duration"), "{text}");
    assert!(text.contains("lab.yaml:5:20"), "{text}");
}
