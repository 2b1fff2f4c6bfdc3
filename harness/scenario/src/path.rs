//! Step paths: where a step stands in a scenario as it runs.
//!
//! A scenario's steps are numbered from 1; a `repeat` runs its steps once per
//! round and a `concurrently` runs each branch at the same time, so one
//! written step can run several times. Its [`StepPath`] names one of those
//! runs: `3` (the third step), `5.2.1` (the first step of round 2 of the
//! repeat at step 5), `8.b.2` (the second step of branch b of step 8).
//!
//! Reports show these paths beside every check, and a check that never ran
//! is found by its path, so the runner and the scorer must agree on them to
//! the letter. Both get them from here: [`StepTree::of`] lays out the steps
//! as they will run, [`walk`] lists them in order.

use std::fmt;

use crate::model::{Action, Step};

/// `a`, `b`, … `z`, then `27`, `28`, …: the name of a concurrent branch in
/// a step's path (`8.b.2`).
pub fn branch_label(index: usize) -> String {
    match u8::try_from(index) {
        Ok(i) if i < 26 => char::from(b'a' + i).to_string(),
        _ => (index + 1).to_string(),
    }
}

/// One part of a [`StepPath`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PathPart {
    /// The step's position among its siblings, from 0 (shown from 1).
    Step(usize),
    /// A round of a `repeat`, from 0 (shown from 1).
    Round(u32),
    /// A branch of a `concurrently`, from 0 (shown as a letter, see [`branch_label`]).
    Branch(usize),
}

/// Where one run of a step stands: `3`, `5.2.1`, `8.b.2`.
///
/// It exists so that paths are built in one way only and compared as
/// values; its [`Display`](fmt::Display) is the text reports show.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StepPath(Vec<PathPart>);

impl StepPath {
    /// The scenario itself: the path every step path starts from (shown as
    /// an empty text).
    pub fn root() -> StepPath {
        StepPath(Vec::new())
    }

    /// The `index`-th step (from 0) below this path.
    pub fn step(&self, index: usize) -> StepPath {
        self.with(PathPart::Step(index))
    }

    /// Round `round` (from 0) of the repeat at this path.
    pub fn round(&self, round: u32) -> StepPath {
        self.with(PathPart::Round(round))
    }

    /// Branch `branch` (from 0) of the concurrent step at this path.
    pub fn branch(&self, branch: usize) -> StepPath {
        self.with(PathPart::Branch(branch))
    }

    fn with(&self, part: PathPart) -> StepPath {
        let mut parts = self.0.clone();
        parts.push(part);
        StepPath(parts)
    }

    pub fn parts(&self) -> &[PathPart] {
        &self.0
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The concurrent branches this path runs in, innermost first, ending
    /// with the root (the scenario outside any branch): for `8.a.3.b.1`,
    /// `8.a.3.b`, `8.a`, and the root.
    pub fn enclosing_branches(&self) -> impl Iterator<Item = StepPath> + '_ {
        let ends = self
            .0
            .iter()
            .enumerate()
            .rev()
            .filter(|(_, part)| matches!(part, PathPart::Branch(_)))
            .map(|(at, _)| at + 1);
        ends.chain(std::iter::once(0))
            .map(|end| StepPath(self.0[..end].to_vec()))
    }
}

impl fmt::Display for StepPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, part) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            match part {
                PathPart::Step(n) => write!(f, "{}", n + 1)?,
                PathPart::Round(n) => write!(f, "{}", n + 1)?,
                PathPart::Branch(n) => f.write_str(&branch_label(*n))?,
            }
        }
        Ok(())
    }
}

/// The steps of a scenario laid out as they run: every round of a repeat
/// and every branch of a concurrent step, each step with its path.
#[derive(Debug, Clone)]
pub enum StepTree<'a> {
    /// A step that does one thing (start, send, recv, …).
    Action { path: StepPath, step: &'a Step },
    /// A `repeat`: its steps once per round, the rounds one after another.
    Repeat {
        path: StepPath,
        step: &'a Step,
        rounds: Vec<Vec<StepTree<'a>>>,
    },
    /// A `concurrently`: its branches at the same time.
    Concurrently {
        path: StepPath,
        step: &'a Step,
        branches: Vec<Vec<StepTree<'a>>>,
    },
}

impl<'a> StepTree<'a> {
    /// The layout of `steps`, a scenario's (or a block's) steps.
    pub fn of(steps: &'a [Step]) -> Vec<StepTree<'a>> {
        Self::below(&StepPath::root(), steps)
    }

    fn below(parent: &StepPath, steps: &'a [Step]) -> Vec<StepTree<'a>> {
        steps
            .iter()
            .enumerate()
            .map(|(i, step)| {
                let path = parent.step(i);
                match &step.action {
                    Action::Repeat { times, steps } => StepTree::Repeat {
                        rounds: (0..*times)
                            .map(|round| Self::below(&path.round(round), steps))
                            .collect(),
                        path,
                        step,
                    },
                    Action::Concurrently { branches } => StepTree::Concurrently {
                        branches: branches
                            .iter()
                            .enumerate()
                            .map(|(b, steps)| Self::below(&path.branch(b), steps))
                            .collect(),
                        path,
                        step,
                    },
                    _ => StepTree::Action { path, step },
                }
            })
            .collect()
    }

    pub fn path(&self) -> &StepPath {
        match self {
            StepTree::Action { path, .. }
            | StepTree::Repeat { path, .. }
            | StepTree::Concurrently { path, .. } => path,
        }
    }

    pub fn step(&self) -> &'a Step {
        match self {
            StepTree::Action { step, .. }
            | StepTree::Repeat { step, .. }
            | StepTree::Concurrently { step, .. } => step,
        }
    }

    /// This step and every step below it, in the order they run (the
    /// branches of a concurrent step one after another, in label order).
    pub fn flatten(&self) -> Vec<(&StepPath, &'a Step)> {
        let mut out = Vec::new();
        self.collect_into(&mut out);
        out
    }

    fn collect_into<'t>(&'t self, out: &mut Vec<(&'t StepPath, &'a Step)>) {
        out.push((self.path(), self.step()));
        let blocks = match self {
            StepTree::Action { .. } => return,
            StepTree::Repeat { rounds, .. } => rounds,
            StepTree::Concurrently { branches, .. } => branches,
        };
        for block in blocks {
            for tree in block {
                tree.collect_into(out);
            }
        }
    }
}

/// Every step of `steps` with its path, in the order they run: each round of
/// a repeat, each branch of a concurrent step (one after another, in label
/// order), a repeat or concurrent step itself before what it holds.
pub fn walk(steps: &[Step]) -> Vec<(StepPath, &Step)> {
    StepTree::of(steps)
        .iter()
        .flat_map(|tree| {
            tree.flatten()
                .into_iter()
                .map(|(path, step)| (path.clone(), step))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branches_are_lettered_then_numbered() {
        assert_eq!(branch_label(0), "a");
        assert_eq!(branch_label(25), "z");
        assert_eq!(branch_label(26), "27");
        assert_eq!(branch_label(300), "301");
    }

    #[test]
    fn paths_show_steps_and_rounds_from_one_and_branches_as_letters() {
        let root = StepPath::root();
        assert_eq!(root.to_string(), "");
        assert_eq!(root.step(2).to_string(), "3");
        assert_eq!(root.step(4).round(1).step(0).to_string(), "5.2.1");
        assert_eq!(root.step(7).branch(1).step(1).to_string(), "8.b.2");
        assert_eq!(root.step(0).branch(26).step(0).to_string(), "1.27.1");
    }

    #[test]
    fn a_path_knows_the_branches_it_runs_in() {
        let inner = StepPath::root()
            .step(7)
            .branch(0)
            .step(2)
            .round(1)
            .step(0)
            .branch(1)
            .step(0);
        let shown: Vec<String> = inner.enclosing_branches().map(|p| p.to_string()).collect();
        assert_eq!(shown, ["8.a.3.2.1.b", "8.a", ""]);
        let top: Vec<String> = StepPath::root()
            .step(3)
            .enclosing_branches()
            .map(|p| p.to_string())
            .collect();
        assert_eq!(top, [""]);
    }

    fn scenario_steps(yaml: &str) -> Vec<Step> {
        let file = crate::parse_scenario_file(std::path::Path::new("t.yaml"), yaml, None)
            .unwrap_or_else(|d| panic!("{d}"));
        file.scenarios.into_iter().next().unwrap().steps
    }

    #[test]
    fn the_walk_yields_every_run_of_every_step_with_its_path() {
        let steps = scenario_steps(
            r#"
scenarios:
  - name: walk
    steps:
      - listen: p
        port: 9000
      - repeat: 2
        steps:
          - accept: p
          - close: p
      - concurrently:
          - - connect: a
              to: "127.0.0.1:9000"
          - - connect: b
              to: "127.0.0.1:9000"
            - close: b
"#,
        );
        let walked: Vec<(String, &'static str)> = walk(&steps)
            .into_iter()
            .map(|(path, step)| (path.to_string(), step.action.keyword()))
            .collect();
        let expected = [
            ("1", "listen"),
            ("2", "repeat"),
            ("2.1.1", "accept"),
            ("2.1.2", "close"),
            ("2.2.1", "accept"),
            ("2.2.2", "close"),
            ("3", "concurrently"),
            ("3.a.1", "connect"),
            ("3.b.1", "connect"),
            ("3.b.2", "close"),
        ];
        let expected: Vec<(String, &str)> =
            expected.iter().map(|(p, k)| (p.to_string(), *k)).collect();
        assert_eq!(walked, expected);
    }
}
