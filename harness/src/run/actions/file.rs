//! `file`: looks at a file a program should have written (relative paths
//! are inside the scenario's folder): whether it exists, or its bytes.

use std::path::PathBuf;

use socklab_scenario::{FileCheck, Template};

use crate::check::{self, Judgement};
use crate::facts::{FileContent, FileFact};
use crate::run::state::{StepContext, StepError};

pub fn run(
    cx: &StepContext<'_>,
    path: &Template,
    check: &FileCheck,
) -> Result<Judgement, StepError> {
    let state = cx.state;
    let rendered = PathBuf::from(state.render(path)?);
    let full = if rendered.is_absolute() {
        rendered
    } else {
        state.dir.join(rendered)
    };
    let shown = full
        .strip_prefix(&state.dir)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| full.display().to_string());
    let content = match check {
        FileCheck::Exists(_) if full.exists() => FileContent::Present,
        FileCheck::Exists(_) => FileContent::Absent,
        FileCheck::Matches(_) => match std::fs::read(&full) {
            Ok(bytes) => FileContent::Bytes(bytes),
            Err(e) => FileContent::Unreadable(e.to_string()),
        },
    };
    let fact = FileFact {
        shown,
        path: full,
        content,
    };
    Ok(match check {
        FileCheck::Exists(want) => check::file::exists(*want, &fact),
        FileCheck::Matches(f) => check::file::matches(f, &state.fixture(f), &fact),
    })
}
