//! `start`: runs a program of the scenario — the student's build or a
//! reference program (in a process, or inside socklab), as the plan
//! resolved it — with its arguments, working folder, host and stdin.

use socklab_scenario::{StartSpec, StdinMode};

use crate::check::Judgement;
use crate::facts::ProgramOrigin;
use crate::plan::ProgramPlan;
use crate::run::program::{Launch, LaunchKind, Program};
use crate::run::state::{StepContext, StepError};

pub async fn run(cx: &StepContext<'_>, spec: &StartSpec) -> Result<Judgement, StepError> {
    let state = cx.state;
    let mut args = Vec::new();
    for a in &spec.args {
        args.push(state.render(a)?);
    }
    let cwd = state.program_dir(&spec.name);
    std::fs::create_dir_all(&cwd)
        .map_err(|e| StepError::Harness(format!("cannot create {}: {e}", cwd.display())))?;
    let planned = state.plan.programs.get(cx.path).ok_or_else(|| {
        StepError::Harness(format!("step {} was not planned as a `start`", cx.path))
    })?;
    let (label, origin, kind) = match planned {
        ProgramPlan::Submission { name, exe } => {
            let limits = state.settings.limits.clone().map(|mut limits| {
                // The cgroup limits memory for all programs together and
                // names the kill; address space would only make malloc
                // fail first.
                if state.sandbox.memory_limit().is_some() {
                    limits.address_space = libc::RLIM_INFINITY;
                }
                limits
            });
            (
                format!("{name} (submission)"),
                ProgramOrigin::Submission,
                LaunchKind::Process {
                    exe: exe.clone(),
                    args,
                    limits,
                    run_as: state.submission.student,
                },
            )
        }
        ProgramPlan::Reference {
            name,
            program,
            leading,
        } => {
            let program = *program;
            let mut leading = leading.clone();
            leading.extend(args);
            let label = format!("{name} (reference {})", program.name());
            let origin = ProgramOrigin::Reference {
                program: program.name().to_string(),
            };
            if spec.in_process && socklab_reference::supports_in_process(program, &leading) {
                (
                    label,
                    origin,
                    LaunchKind::InProcess {
                        program,
                        args: leading,
                    },
                )
            } else {
                let mut full = vec!["reference".to_string(), program.name().to_string()];
                full.extend(leading);
                (
                    label,
                    origin,
                    LaunchKind::Process {
                        exe: state.settings.self_exe.clone(),
                        args: full,
                        limits: None,
                        run_as: state.submission.peers,
                    },
                )
            }
        }
        ProgramPlan::Unavailable { name, why } => {
            return Ok(Judgement::fail(format!("cannot run {name}: {why}")));
        }
        ProgramPlan::Unresolved(why) => return Err(StepError::Harness(why.clone())),
    };
    let stdin_file = match &spec.stdin {
        StdinMode::Fixture(f) => Some(
            state
                .fixture_paths
                .get(f)
                .cloned()
                .ok_or_else(|| StepError::Harness(format!("fixture `{f}` was not made")))?,
        ),
        _ => None,
    };
    let launch = Launch {
        name: spec.name.clone(),
        label: label.clone(),
        origin,
        cwd,
        scenario_dir: state.dir.clone(),
        host: spec.host.clone(),
        stdin: spec.stdin.clone(),
        stdin_file,
        output_limit: state.settings.output_limit,
        overflow: state.overflow.clone(),
        kind,
    };
    match Program::start(&state.sandbox, launch) {
        Ok(program) => {
            state.add_program(program);
            Ok(Judgement::pass(format!("started {label}")))
        }
        Err(e) => Ok(Judgement::fail(format!(
            "{label} could not be started: {e}"
        ))),
    }
}
