//! socklab's results model and its reporters.
//!
//! The last stage of socklab's flow: verdicts and scores arrive here as
//! [`model::SubmissionReport`] values; each reporter renders them for one
//! audience (a student at a terminal, a CI system, a gradebook).

pub mod model;

pub use model::*;
