//! Looking at a scenario for [`super::judge`]: its processes (each read
//! twice from `/proc`, to see whether it woke in between), the bytes queued
//! on what they wait to read, and the TCP sockets of its network namespaces
//! (one `sock_diag` socket per namespace, opened once).

use std::collections::BTreeMap;
use std::os::fd::BorrowedFd;
use std::sync::{Arc, Mutex};

use super::super::process::{self, AlarmDisposition, Call, FdTarget, ProcessView, Task};
use super::super::sock_diag::{NetnsId, SockDiag, States};
use super::{Facts, ProcessFacts, Verdict, judge};

/// Looks at a scenario's processes and namespaces and judges them. Holds one
/// [`SockDiag`] per network namespace, opened once and reused.
#[derive(Default)]
pub struct QuiescenceProbe {
    namespaces: Mutex<BTreeMap<NetnsId, Arc<SockDiag>>>,
    /// The namespaces whose sockets are checked on every probe, whether or
    /// not a process is found in them (socklab's own peers live there).
    watched: Mutex<Vec<NetnsId>>,
}

impl QuiescenceProbe {
    pub fn new() -> QuiescenceProbe {
        QuiescenceProbe::default()
    }

    /// Checks the sockets of this network namespace on every probe.
    pub fn watch_namespace(&self, netns: BorrowedFd<'_>) -> std::io::Result<()> {
        self.watch(Arc::new(SockDiag::in_namespace(netns)?));
        Ok(())
    }

    /// Checks the sockets `diag` reports on every probe.
    pub fn watch(&self, diag: Arc<SockDiag>) {
        let id = diag.netns();
        self.namespaces
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, diag);
        let mut watched = self.watched.lock().unwrap_or_else(|e| e.into_inner());
        if !watched.contains(&id) {
            watched.push(id);
        }
    }

    /// Whether the processes `roots`, their descendants and the watched
    /// namespaces are quiet (pass a pid namespace's init as a root to cover
    /// daemonised orphans too).
    pub fn probe(&self, roots: &[u32]) -> Verdict {
        judge(&self.gather(roots))
    }

    /// The facts, looked at twice with the sockets read in between.
    pub fn gather(&self, roots: &[u32]) -> Facts {
        let pids = process::tree(roots);
        let first: Vec<ProcessView> = pids.iter().filter_map(|p| ProcessView::read(*p)).collect();
        let gone: Vec<u32> = roots
            .iter()
            .copied()
            .filter(|r| !first.iter().any(|v| v.pid == *r))
            .collect();

        let mut namespaces: Vec<NetnsId> = self
            .watched
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for view in &first {
            if let Some(id) = view.netns
                && !namespaces.contains(&id)
            {
                namespaces.push(id);
            }
        }
        let mut sockets = BTreeMap::new();
        for id in namespaces {
            let table = self
                .diag_for(id, &first)
                .and_then(|d| d.sockets(States::HELD).map_err(|e| e.to_string()));
            sockets.insert(id, table);
        }

        let processes: Vec<ProcessFacts> = first
            .into_iter()
            .map(|view| {
                let readable = waited_streams(&view)
                    .into_iter()
                    .map(|fd| {
                        let bytes =
                            process::readable_bytes(view.pid, fd).map_err(|e| e.to_string());
                        (fd, bytes)
                    })
                    .collect();
                let tcp = view.netns.and_then(|id| sockets.get(&id));
                let local = waited_sockets(&view)
                    .into_iter()
                    .filter(|(_, inode)| {
                        !matches!(tcp, Some(Ok(list)) if list.iter().any(|s| s.inode == *inode))
                    })
                    .map(|(fd, _)| {
                        let socket =
                            process::local_socket(view.pid, fd).map_err(|e| e.to_string());
                        (fd, socket)
                    })
                    .collect();
                ProcessFacts {
                    view,
                    readable,
                    local,
                }
            })
            .collect();
        // The machine's timer list is long under load; the judge asks about
        // alarms only for a process that heeds SIGALRM and whose every
        // thread sleeps, so it is read only when there is one.
        let alarms_matter = processes.iter().any(|p| {
            p.view.alarm != AlarmDisposition::Ignored
                && (p.view.tasks.iter()).all(|t| matches!(t.state, 'S' | 'Z' | 'X'))
        });
        let alarms_pending = if alarms_matter {
            std::fs::read_to_string("/proc/timer_list")
                .ok()
                .map(|text| text.matches(", it_real_fn,").count())
        } else {
            None
        };

        let mut woke = Vec::new();
        let again = process::tree(roots);
        for pid in &again {
            if !pids.contains(pid) {
                woke.push((*pid, "started while socklab looked".to_string()));
            }
        }
        for facts in &processes {
            let now = process::tasks(facts.view.pid);
            if let Some(change) = changed(&facts.view.tasks, &now) {
                woke.push((facts.view.pid, change));
            }
        }
        Facts {
            processes,
            gone,
            sockets,
            alarms_pending,
            woke,
            frozen: Vec::new(),
        }
    }

    fn diag_for(&self, id: NetnsId, views: &[ProcessView]) -> Result<Arc<SockDiag>, String> {
        let mut namespaces = self.namespaces.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(diag) = namespaces.get(&id) {
            return Ok(diag.clone());
        }
        let member = views
            .iter()
            .find(|v| v.netns == Some(id))
            .ok_or_else(|| "no process of the scenario is in this namespace".to_string())?;
        let diag = Arc::new(SockDiag::of_process(member.pid).map_err(|e| {
            format!(
                "cannot open a sock_diag socket in the namespace of pid {}: {e}",
                member.pid
            )
        })?);
        namespaces.insert(id, diag.clone());
        Ok(diag)
    }
}

/// The pipes, named pipes and terminals a process's threads wait to read.
fn waited_streams(view: &ProcessView) -> Vec<i32> {
    let mut fds = Vec::new();
    for task in &view.tasks {
        for (fd, input) in inputs(task.call.as_ref()) {
            let stream = matches!(
                view.fds.get(&fd),
                Some(FdTarget::Pipe(_) | FdTarget::Fifo(_) | FdTarget::Terminal(_))
            );
            if input && stream && !fds.contains(&fd) {
                fds.push(fd);
            }
        }
    }
    fds
}

/// The sockets a process's threads wait to read, with their inodes.
fn waited_sockets(view: &ProcessView) -> Vec<(i32, u64)> {
    let mut found = Vec::new();
    for task in &view.tasks {
        for (fd, _) in inputs(task.call.as_ref()) {
            if let Some(FdTarget::Socket(inode)) = view.fds.get(&fd)
                && !found.iter().any(|(f, _)| *f == fd)
            {
                found.push((fd, *inode));
            }
        }
    }
    found
}

/// The descriptors a call reads from (with `true`), or writes to.
fn inputs(call: Option<&Call>) -> Vec<(i32, bool)> {
    match call {
        Some(Call::Input { fd, .. } | Call::Accept { fd, .. }) => vec![(*fd, true)],
        Some(Call::Multiplex { fds: Ok(list), .. }) => {
            list.iter().map(|i| (i.fd, i.input)).collect()
        }
        _ => Vec::new(),
    }
}

/// How the threads differ between two looks, if they do.
fn changed(before: &[Task], after: &[Task]) -> Option<String> {
    if before.len() != after.len() {
        return Some("its threads changed while socklab looked".to_string());
    }
    for (a, b) in before.iter().zip(after) {
        if a.tid != b.tid {
            return Some("its threads changed while socklab looked".to_string());
        }
        if a.state != b.state || a.syscall != b.syscall || a.runs != b.runs {
            return Some(format!(
                "it woke while socklab looked (state {} then {})",
                a.state, b.state
            ));
        }
    }
    None
}
