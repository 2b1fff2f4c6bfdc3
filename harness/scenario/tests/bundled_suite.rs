//! The bundled Lab 3 suite is valid and adds up.

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
