//! `docs/scenarios.md` lists exactly the actions socklab accepts, with their
//! keys: its action section is generated from the action table.
//! Regenerate with `SOCKLAB_BLESS=1 cargo test -p socklab-scenario --test docs_up_to_date`.

use std::path::Path;

use socklab_scenario::docs::{BEGIN, END, actions_section};

#[test]
fn the_action_list_in_the_docs_is_the_table() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/scenarios.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let (before, rest) = text
        .split_once(&format!("{BEGIN}\n"))
        .unwrap_or_else(|| panic!("{} has no line `{BEGIN}`", path.display()));
    let (section, after) = rest
        .split_once(&format!("{END}\n"))
        .unwrap_or_else(|| panic!("{} has no line `{END}` after `{BEGIN}`", path.display()));
    let generated = actions_section();
    if std::env::var_os("SOCKLAB_BLESS").is_some() {
        std::fs::write(&path, format!("{before}{BEGIN}\n{generated}{END}\n{after}")).unwrap();
        return;
    }
    assert!(
        section == generated,
        "the action list in {} is out of date: run `SOCKLAB_BLESS=1 cargo test -p socklab-scenario --test docs_up_to_date`",
        path.display()
    );
}

/// Independently of the generator: every action of the table appears in
/// the section with each of its keys, and nothing else is listed as a step.
#[test]
fn the_section_names_every_action_and_key() {
    let section = actions_section();
    let rows: Vec<&str> = section.lines().filter(|l| l.starts_with("| `")).collect();
    assert_eq!(rows.len(), socklab_scenario::actions::TABLE.len());
    for (row, d) in rows.iter().zip(socklab_scenario::actions::TABLE) {
        assert!(row.starts_with(&format!("| `{}: ", d.keyword)), "{row}");
        for p in d.params {
            assert!(
                row.contains(&format!("`{}`", p.key)),
                "{row} lacks `{}`",
                p.key
            );
        }
    }
}
