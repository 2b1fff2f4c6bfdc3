//! socklab: runs YAML scenarios against socket-programming submissions,
//! checks what happened, scores it and reports.
//!
//! The flow, one module per stage (`docs/architecture.md` follows one step
//! through all of them):
//!
//! ```text
//! socklab_scenario (parse, validate)   the format, its own crate
//!   → plan    suite, settings, a ScenarioPlan per scenario   (plan/, build/)
//!   → run     steps on programs and peers in a sandbox → facts
//!                                                    (run/, facts.rs, sandbox/)
//!   → check   facts → judgements → verdicts              (check/)
//!   → score   verdicts → points                          (score.rs)
//!   → report  socklab_report: human, JSON, JUnit, …      (its own crate)
//! ```
//!
//! `engine` ties the stages together for one submission and `grade` for a
//! class; both tell what happens through `events`, to which displays and
//! file writers subscribe. `cli` is the command line over it, `error` its
//! errors and exit codes.

pub mod build;
pub mod check;
pub mod class_page;
pub mod cli;
pub mod engine;
pub mod error;
pub mod events;
pub mod facts;
pub mod grade;
pub mod kernel;
pub mod limits;
pub mod plan;
pub mod run;
pub mod sandbox;
pub mod score;
pub mod submissions;
