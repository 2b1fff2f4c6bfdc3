//! `file`: looks at a file a program should have written (relative paths
//! are inside the scenario's folder): whether it exists, or its bytes.
//!
//! The file is the student's: it may be a FIFO that would block `open()`, a
//! link to `/etc/shadow` or `/dev/zero`, or grow without end. So it is
//! opened beneath the scenario's folder without following any link and
//! without blocking ([`socklab_reference::beneath::Folder`]), must be a
//! regular file, is read up to [`FILE_READ_LIMIT`] bytes, and all of it
//! happens on a blocking thread, off the async runtime, within the step's
//! wait. Whatever else is there is a fact in words ("a FIFO (named pipe)",
//! "a link to outside the program's folder"); nothing of a link's target is
//! read, looked at or reported.

use std::path::{Path, PathBuf};

use socklab_reference::beneath::{Folder, Kind, Refusal};
use socklab_scenario::{FileCheck, Template};

use crate::check::{self, Judgement};
use crate::facts::{FileContent, FileFact};
use crate::run::state::{StepContext, StepError};

/// The most socklab reads of a file a program wrote (64 MiB): a larger one
/// is a failed check that says so.
pub const FILE_READ_LIMIT: u64 = 64 << 20;

pub async fn run(
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
    let read = matches!(check, FileCheck::Matches(_));
    let (folder, path) = (state.dir.clone(), full.clone());
    let looked = tokio::task::spawn_blocking(move || look(&folder, &path, read));
    let content = match cx.until.wait(looked).await {
        Ok(Ok(content)) => content,
        Ok(Err(e)) => return Err(StepError::Harness(format!("reading {shown} failed: {e}"))),
        Err(_) => FileContent::Unreadable(
            "socklab could not read it before the step's deadline".to_string(),
        ),
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

/// What is at `path` beneath `folder` (blocking): its bytes when `read`,
/// else whether a regular file is there.
fn look(folder: &Path, path: &Path, read: bool) -> FileContent {
    let folder = match Folder::open(folder) {
        Ok(folder) => folder,
        Err(e) => return FileContent::Unreadable(format!("the scenario's folder: {e}")),
    };
    let found = if read {
        folder.read(path, FILE_READ_LIMIT).map(FileContent::Bytes)
    } else {
        folder.look(path).map(|kind| match kind {
            Kind::File(_) => FileContent::Present,
            other => FileContent::Refused(other.describe().to_string()),
        })
    };
    found.unwrap_or_else(content_of)
}

/// A refusal in the words of a report about a program's file.
fn content_of(refusal: Refusal) -> FileContent {
    match refusal {
        Refusal::Absent => FileContent::Absent,
        Refusal::Outside => FileContent::Refused("outside the scenario's folder".to_string()),
        Refusal::Link { outside: true } => {
            FileContent::Refused("a link to outside the program's folder".to_string())
        }
        Refusal::Link { outside: false } => FileContent::Refused(
            "a symbolic link (socklab follows no links in a program's folder)".to_string(),
        ),
        Refusal::NotRegular(kind) => FileContent::Refused(kind.describe().to_string()),
        Refusal::TooLarge { limit, .. } => {
            FileContent::Refused(format!("larger than {limit} bytes"))
        }
        Refusal::Failed(e) => FileContent::Unreadable(e.to_string()),
    }
}
