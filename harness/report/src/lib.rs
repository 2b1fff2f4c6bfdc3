//! socklab's results model and its reporters.
//!
//! The last stage of socklab's flow: verdicts and scores arrive here as
//! [`model::SubmissionReport`] values; each reporter renders them for one
//! audience (a student at a terminal, a CI system, a gradebook). Reporters
//! are pure functions of these values, so they are tested without running
//! anything and can be applied again to saved `report.json` files (e.g. when
//! shards are merged).
//!
//! | module | output | audience |
//! |---|---|---|
//! | [`human`] | terminal text | the student running `socklab check`, the TA |
//! | [`markdown`] | `feedback.md`, `$GITHUB_STEP_SUMMARY` | the student |
//! | [`html`] | `feedback.html`, self-contained | the student |
//! | [`json`] | `report.json` (lossless) | socklab itself, scripts |
//! | [`junit`] | `junit.xml` | CI systems |
//! | [`gradescope`] | Gradescope `results.json` | Gradescope |
//! | [`prairielearn`] | PrairieLearn `results.json` | PrairieLearn |
//! | [`classroom`] | base64 runner output | GitHub Classroom |
//! | [`csv`] | `grades.csv`, `mistakes.csv` | the gradebook, the TA's spreadsheet |
//! | [`summary`] | `summary.txt` | the TA after a batch |
//! | [`class_page`] | `index.html`, self-contained | the TA: scores, where the class fails, common mistakes |
//!
//! The class-level reporters read one model built from every student's
//! report: [`class::ClassReport`], whose mistake groups rest on the failure
//! signatures of [`signature`].

pub mod model;

pub mod class;
pub mod class_page;
pub mod classroom;
pub mod csv;
pub mod escape;
pub mod excerpt;
pub mod format;
pub mod gradescope;
pub mod html;
pub mod human;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod points;
pub mod prairielearn;
pub mod signature;
pub mod summary;
pub mod verdict;

pub use model::*;

pub use class::{ClassMember, ClassReport};
pub use class_page::render_class_page;
pub use classroom::render_classroom;
pub use csv::{render_grades_csv, render_mistakes_csv};
pub use format::Format;
pub use gradescope::render_gradescope;
pub use html::render_html;
pub use human::{HumanOptions, render_human};
pub use json::{read_json, render_json};
pub use junit::render_junit;
pub use markdown::render_markdown;
pub use points::scale_factor;
pub use prairielearn::render_prairielearn;
pub use summary::render_class_summary;
