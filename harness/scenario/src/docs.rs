//! The action list of `docs/scenarios.md`, generated from the action table.
//!
//! The section between [`BEGIN`] and [`END`] in that file is this text; a
//! test compares the two (and rewrites the section with `SOCKLAB_BLESS=1`),
//! so the docs list exactly the actions and keys socklab accepts.
//!
//! Layer: the top, with [`crate::schema`]; reads only [`crate::actions`].

use crate::actions::{Role, SETTINGS, TABLE};

/// The line opening the generated section.
pub const BEGIN: &str = "<!-- actions: generated from harness/scenario/src/actions/ -->";
/// The line closing it.
pub const END: &str = "<!-- end of actions -->";

/// The generated section, without the [`BEGIN`] and [`END`] lines.
pub fn actions_section() -> String {
    let mut out = String::from(
        "Every action, what it takes, and how it counts: a check passes or \
         fails and earns its share of the points (a prerequisite's weight is 0 \
         unless given); a step that drives programs or peers, or runs other \
         steps, is not a check. Besides its parameters, every step may have ",
    );
    let settings: Vec<String> = SETTINGS.iter().map(|p| format!("`{}`", p.key)).collect();
    out.push_str(&settings.join(", "));
    out.push_str(" (next section).\n\n");
    out.push_str("| step | what it does | parameters | counts as | example |\n");
    out.push_str("|---|---|---|---|---|\n");
    for d in TABLE {
        let params: Vec<String> = d.params.iter().map(|p| format!("`{}`", p.key)).collect();
        let params = if params.is_empty() {
            "—".to_string()
        } else {
            params.join(", ")
        };
        let role = match d.role {
            Role::Drives => "drives",
            Role::Check => "check",
            Role::Prerequisite => "check, weight 0",
            Role::Control => "runs steps",
        };
        out.push_str(&format!(
            "| `{}: {}` | {} | {} | {} | `{}` |\n",
            d.keyword,
            d.subject.placeholder(),
            cell(d.summary),
            params,
            role,
            cell(d.example),
        ));
    }
    out.push('\n');
    out
}

/// Text safe inside a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}
