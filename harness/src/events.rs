//! Events: what happens during a run, as it happens, for whoever listens.
//!
//! The engine (one submission) and class grading emit [`Event`]s: a
//! submission, its build, each scenario, each step and each check's verdict
//! as they start and finish, and warnings. Displays and writers are
//! [`Subscriber`]s: the class progress bar, the live lines of `socklab run`
//! in a terminal, the writer of each student's result files. None of them
//! is known to the code that emits (nextest's reporter model), so a new
//! display is a new subscriber, not a change to the runner.

use std::sync::Arc;

use socklab_report::{BuildReport, CheckReport, ScenarioReport, SubmissionReport};
use socklab_scenario::path::StepPath;

use crate::check::Outcome;

/// Something that happened during a run.
#[derive(Debug, Clone)]
pub enum Event {
    /// Class grading found this many submissions to grade (or reuse).
    ClassStarted {
        submissions: usize,
    },
    SubmissionStarted {
        submission: String,
    },
    /// socklab starts building the submission's programs.
    BuildStarted {
        submission: String,
    },
    /// The last program's build ended. Scenarios whose programs were
    /// built earlier may have started (and finished) before this.
    BuildFinished {
        submission: String,
        build: Box<BuildReport>,
    },
    ScenarioStarted {
        submission: String,
        scenario: String,
    },
    StepStarted {
        submission: String,
        scenario: String,
        step: StepPath,
        title: String,
    },
    StepFinished {
        submission: String,
        scenario: String,
        step: StepPath,
        outcome: Outcome,
    },
    /// A check of a finished scenario, judged and weighed.
    CheckVerdict {
        submission: String,
        scenario: String,
        check: Box<CheckReport>,
    },
    ScenarioFinished {
        submission: String,
        report: Box<ScenarioReport>,
    },
    /// A scenario's packet capture, to be kept as `file` (a pcapng file
    /// name) in the run's packets folder.
    ScenarioCaptured {
        submission: String,
        scenario: String,
        file: String,
        pcapng: Arc<Vec<u8>>,
    },
    /// Something the person running socklab should know (results that could
    /// not be written, results of students not in this run).
    Warning {
        message: String,
    },
    /// A submission's report is complete; `reused` when `--resume` took it
    /// from an earlier run instead of grading again.
    SubmissionFinished {
        report: Arc<SubmissionReport>,
        reused: bool,
    },
    ClassFinished,
}

/// A subscriber could not do its part (write a file, draw); the other
/// subscribers hear about it as a [`Event::Warning`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SubscriberError(pub String);

/// Something that listens to a run's events.
pub trait Subscriber: Send + Sync {
    fn on_event(&self, event: &Event) -> Result<(), SubscriberError>;
}

/// Where a run's events go: every subscriber, in the order they were
/// added. Cheap to clone; emitting with no subscribers costs nothing.
#[derive(Clone, Default)]
pub struct Events {
    subscribers: Vec<Arc<dyn Subscriber>>,
}

impl Events {
    /// No subscribers.
    pub fn none() -> Events {
        Events::default()
    }

    /// These events, also delivered to `subscriber` (after the others).
    pub fn with(&self, subscriber: Arc<dyn Subscriber>) -> Events {
        let mut subscribers = self.subscribers.clone();
        subscribers.push(subscriber);
        Events { subscribers }
    }

    /// These events, also delivered to every subscriber of `others` (after
    /// these).
    pub fn and(&self, others: &Events) -> Events {
        let mut subscribers = self.subscribers.clone();
        subscribers.extend(others.subscribers.iter().cloned());
        Events { subscribers }
    }

    pub fn is_empty(&self) -> bool {
        self.subscribers.is_empty()
    }

    /// Delivers `event` to every subscriber; a subscriber's error becomes a
    /// warning delivered to the others.
    pub fn emit(&self, event: Event) {
        let mut warnings = Vec::new();
        for (i, subscriber) in self.subscribers.iter().enumerate() {
            if let Err(e) = subscriber.on_event(&event) {
                warnings.push((i, e));
            }
        }
        for (failed, error) in warnings {
            let warning = Event::Warning {
                message: error.to_string(),
            };
            for (i, subscriber) in self.subscribers.iter().enumerate() {
                if i != failed {
                    // A warning about a warning would never end.
                    let _ = subscriber.on_event(&warning);
                }
            }
        }
    }

    /// Emits the event `make` builds, building it only when someone listens.
    pub fn emit_with(&self, make: impl FnOnce() -> Event) {
        if !self.is_empty() {
            self.emit(make());
        }
    }
}

/// The events of one scenario of one submission: the names every step
/// event carries.
#[derive(Clone)]
pub struct ScenarioEvents {
    pub events: Events,
    pub submission: String,
    pub scenario: String,
}

impl ScenarioEvents {
    pub fn step_started(&self, step: &StepPath, title: &str) {
        self.events.emit_with(|| Event::StepStarted {
            submission: self.submission.clone(),
            scenario: self.scenario.clone(),
            step: step.clone(),
            title: title.to_string(),
        });
    }

    /// The scenario's capture is complete (see [`Event::ScenarioCaptured`]).
    pub fn captured(&self, file: &str, pcapng: &[u8]) {
        self.events.emit_with(|| Event::ScenarioCaptured {
            submission: self.submission.clone(),
            scenario: self.scenario.clone(),
            file: file.to_string(),
            pcapng: Arc::new(pcapng.to_vec()),
        });
    }

    pub fn step_finished(&self, step: &StepPath, outcome: Outcome) {
        self.events.emit_with(|| Event::StepFinished {
            submission: self.submission.clone(),
            scenario: self.scenario.clone(),
            step: step.clone(),
            outcome,
        });
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// Remembers what it heard; fails on warnings it is told to.
    #[derive(Default)]
    struct Recorder {
        heard: Mutex<Vec<String>>,
        fails: bool,
    }

    impl Subscriber for Recorder {
        fn on_event(&self, event: &Event) -> Result<(), SubscriberError> {
            let said = match event {
                Event::ClassStarted { submissions } => format!("class of {submissions}"),
                Event::Warning { message } => format!("warning: {message}"),
                other => format!("{other:?}"),
            };
            self.heard.lock().unwrap().push(said);
            if self.fails {
                return Err(SubscriberError("disk full".into()));
            }
            Ok(())
        }
    }

    #[test]
    fn every_subscriber_hears_every_event_and_failures_become_warnings() {
        let writer = Arc::new(Recorder {
            fails: true,
            ..Recorder::default()
        });
        let display = Arc::new(Recorder::default());
        let events = Events::none().with(writer.clone()).with(display.clone());
        events.emit(Event::ClassStarted { submissions: 3 });
        assert_eq!(*writer.heard.lock().unwrap(), ["class of 3"]);
        assert_eq!(
            *display.heard.lock().unwrap(),
            ["class of 3", "warning: disk full"]
        );
    }

    #[test]
    fn nothing_is_built_when_nobody_listens() {
        let mut built = false;
        Events::none().emit_with(|| {
            built = true;
            Event::ClassFinished
        });
        assert!(!built);
    }
}
