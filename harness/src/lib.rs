//! socklab: runs YAML scenarios against socket-programming submissions,
//! checks what happened, scores it and reports.
//!
//! The flow, one module per stage:
//!
//! ```text
//! socklab_scenario (parse, validate)   the format, its own crate
//!   → plan    programs, hosts, ports, skips          (plan.rs, build.rs)
//!   → run     steps on programs and peers in a sandbox → observations
//!                                                    (run/, sandbox/)
//!   → check   observations → verdicts                (check.rs)
//!   → score   verdicts → points                      (score.rs)
//!   → report  socklab_report: human, JSON, JUnit, …  (its own crate)
//! ```
//!
//! `engine` ties the stages together for one submission; `cli` is the
//! command line over it.

pub mod build;
pub mod check;
pub mod cli;
pub mod engine;
pub mod grade;
pub mod kernel;
pub mod limits;
pub mod plan;
pub mod run;
pub mod sandbox;
pub mod score;
pub mod submissions;
