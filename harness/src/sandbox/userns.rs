//! A user namespace of socklab's own, for users who are not root.
//!
//! Network, pid and mount namespaces need `CAP_SYS_ADMIN`. An unprivileged
//! user can still get it inside a user namespace of their own, where they
//! are "root" mapped to their own uid, wherever the kernel allows
//! unprivileged user namespaces (Debian, Fedora, Arch; not Ubuntu ≥ 24.04
//! under its AppArmor default, not Docker's default seccomp profile). socklab
//! enters one at start-up, before it has threads (the kernel refuses a
//! multi-threaded process), and only after a forked trial has shown that
//! the namespaces it wants can really be made in it. Inside, programs run
//! as the user socklab runs as: no other uid is mapped to switch to.

/// Setting this environment variable to `0` keeps socklab out of a user
/// namespace (the loopback fallback then applies to unprivileged users).
pub const SWITCH: &str = "SOCKLAB_USERNS";

/// What socklab's start-up did about a user namespace of its own: a value
/// the run carries (into [`Capabilities`](super::Capabilities)), since
/// whether the process is in one never changes afterwards.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserNamespace {
    /// socklab runs in a user namespace it made.
    pub entered: bool,
    /// Why it did not enter one, when it tried and could not.
    pub why_not: Option<String>,
}

impl UserNamespace {
    /// Whether socklab is really root (not root of its own user namespace).
    pub fn really_root(&self) -> bool {
        // SAFETY: geteuid has no side effects.
        let euid = unsafe { libc::geteuid() };
        euid == 0 && !self.entered
    }
}

/// Enters a user namespace when socklab is not root and the namespaces it
/// wants can be made there. Must be called while the process has one
/// thread, once.
pub fn enter_if_unprivileged() -> UserNamespace {
    // SAFETY: geteuid/getegid have no side effects.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    if uid == 0 {
        return UserNamespace::default();
    }
    let result = if std::env::var_os(SWITCH).is_some_and(|v| v == "0") {
        Err(format!("{SWITCH}=0"))
    } else {
        trial().and_then(|()| {
            become_root_of_own_namespace(uid, gid).map_err(|e| format!("user namespace: {e}"))
        })
    };
    match result {
        Ok(()) => UserNamespace {
            entered: true,
            why_not: None,
        },
        Err(why) => UserNamespace {
            entered: false,
            why_not: Some(why),
        },
    }
}

fn become_root_of_own_namespace(uid: u32, gid: u32) -> std::io::Result<()> {
    // SAFETY: unshare changes only this (single-threaded) process.
    if unsafe { libc::unshare(libc::CLONE_NEWUSER) } == -1 {
        return Err(std::io::Error::last_os_error());
    }
    std::fs::write("/proc/self/setgroups", "deny")?;
    std::fs::write("/proc/self/uid_map", format!("0 {uid} 1\n"))?;
    std::fs::write("/proc/self/gid_map", format!("0 {gid} 1\n"))?;
    Ok(())
}

/// In a forked child: a user namespace, then network, pid and mount
/// namespaces inside it (AppArmor may allow the first and deny the rest).
fn trial() -> Result<(), String> {
    // SAFETY: geteuid/getegid have no side effects.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    // SAFETY: the process is single-threaded; the child only makes system
    // calls and small writes, then _exits.
    let pid = unsafe { libc::fork() };
    if pid == -1 {
        return Err(format!("fork: {}", std::io::Error::last_os_error()));
    }
    if pid == 0 {
        let ok = become_root_of_own_namespace(uid, gid).is_ok()
            // SAFETY: unshare in the child only.
            && unsafe {
                libc::unshare(libc::CLONE_NEWNET | libc::CLONE_NEWPID | libc::CLONE_NEWNS)
            } == 0;
        // SAFETY: ending the child without running the parent's destructors.
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    let mut status = 0;
    // SAFETY: reaping the child we forked.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
        Ok(())
    } else {
        Err("this machine does not let an unprivileged user make network and pid namespaces in a user namespace".into())
    }
}
