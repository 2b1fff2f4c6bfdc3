//! Resource limits for student programs.
//!
//! Applied with `setrlimit` in the child between fork and exec, so they hold
//! for the program and everything it starts: CPU time, address space, open
//! files, size of files written, and no core files. Which limits were in
//! force is reported with every result.

use std::io;

use socklab_scenario::Limits;

/// The rlimits one program runs under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessLimits {
    pub cpu_secs: u64,
    pub address_space: u64,
    pub open_files: u64,
    pub file_size: u64,
    pub processes: u64,
    /// The CPU time a scenario's programs may use together at full quota
    /// before the cgroup slows them down (`sandbox::cgroup`).
    pub slow_down_after: std::time::Duration,
}

impl ProcessLimits {
    pub fn from_manifest(limits: &Limits) -> Self {
        ProcessLimits {
            cpu_secs: limits.cpu.as_secs().max(1),
            address_space: limits.memory,
            open_files: limits.open_files,
            file_size: limits.file_size,
            processes: limits.processes,
            slow_down_after: limits.slow_down_after,
        }
    }

    /// Human-readable summary for reports.
    /// `memory_by_cgroup`: the scenario's cgroup limits memory instead of
    /// `RLIMIT_AS`.
    pub fn describe(&self, memory_by_cgroup: bool) -> String {
        let memory = if memory_by_cgroup {
            format!(
                "; memory {} MiB per scenario, all programs together (cgroup)",
                self.address_space >> 20
            )
        } else {
            format!(
                ", memory {} MiB of address space per program",
                self.address_space >> 20
            )
        };
        format!(
            "rlimits: cpu {}s, open files {}, file size {} MiB, no core files{memory}",
            self.cpu_secs,
            self.open_files,
            self.file_size >> 20
        )
    }

    /// Sets the limits on the calling process. Only async-signal-safe calls:
    /// this runs in a forked child before exec.
    pub fn apply_in_child(&self) -> io::Result<()> {
        set(libc::RLIMIT_CPU, self.cpu_secs)?;
        set(libc::RLIMIT_AS, self.address_space)?;
        set(libc::RLIMIT_NOFILE, self.open_files)?;
        set(libc::RLIMIT_FSIZE, self.file_size)?;
        set(libc::RLIMIT_CORE, 0)?;
        Ok(())
    }
}

fn set(resource: libc::__rlimit_resource_t, value: u64) -> io::Result<()> {
    let limit = libc::rlimit {
        rlim_cur: value,
        rlim_max: value,
    };
    // SAFETY: setrlimit reads the struct we pass.
    if unsafe { libc::setrlimit(resource, &limit) } == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
