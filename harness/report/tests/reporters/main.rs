//! Properties every reporter must keep, checked on hand-built reports.

mod fixtures;

mod class;
mod classroom;
mod csv;
mod failures_first;
mod gradescope;
mod html;
mod human;
mod json;
mod junit;
mod markdown;
mod prairielearn;
mod summary;
