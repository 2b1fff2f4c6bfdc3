//! Network namespaces whose TCP sockets sit in a hash table of their own,
//! so that asking about them costs microseconds.
//!
//! By default every network namespace shares the host's TCP hash table
//! (`net.ipv4.tcp_ehash_entries`, 262144 buckets on a 24 GiB machine): a
//! dump of a namespace's sockets through `inet_diag`, like a read of its
//! `/proc/net/tcp`, walks every bucket of that table and keeps the
//! namespace's own sockets: about 6 ms, however few they are. A namespace
//! made by a thread standing in a namespace whose
//! `net.ipv4.tcp_child_ehash_entries` is set gets a table of that size
//! instead (Linux ≥ 6.1): the same dump takes under 0.1 ms
//! (`cargo bench -p socklab --bench kernel_probes`).
//!
//! The sysctl is per namespace, so socklab sets it in a parent namespace of
//! its own ([`TableParent`]) and never touches the host's. A side effect to
//! know: a namespace keeps at most half its bucket count of connections in
//! TIME_WAIT (`tcp_max_tw_buckets`); past that, closed connections skip
//! TIME_WAIT, which only makes a port free sooner.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

/// Buckets of a scenario namespace's TCP table: room for far more
/// connections than a scenario makes, 32 KiB of kernel memory.
pub const SCENARIO_BUCKETS: u32 = 4096;

/// A network namespace that only serves as the place new namespaces are made
/// from, with `tcp_child_ehash_entries` set.
pub struct TableParent {
    ns: OwnedFd,
    buckets: u32,
}

impl TableParent {
    /// A new parent namespace whose children get `buckets` buckets (rounded
    /// up to a power of two by the kernel). Needs `CAP_SYS_ADMIN` (root, or
    /// socklab's own user namespace) and Linux ≥ 6.1.
    pub fn create(buckets: u32) -> io::Result<TableParent> {
        let ns = on_thread(None, || {
            unshare_net()?;
            std::fs::write(
                "/proc/sys/net/ipv4/tcp_child_ehash_entries",
                buckets.to_string(),
            )
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("net.ipv4.tcp_child_ehash_entries (Linux ≥ 6.1): {e}"),
                )
            })?;
            Ok(OwnedFd::from(std::fs::File::open(
                "/proc/thread-self/ns/net",
            )?))
        })?;
        Ok(TableParent { ns, buckets })
    }

    pub fn buckets(&self) -> u32 {
        self.buckets
    }

    /// The parent namespace itself.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.ns.as_fd()
    }

    /// A new namespace with a TCP table of its own: a short-lived thread
    /// joins the parent, makes the namespace, runs `inside` there (bring `lo`
    /// up, set sysctls) and returns the namespace's descriptor with what
    /// `inside` returned.
    pub fn new_namespace<T: Send>(
        &self,
        inside: impl FnOnce() -> io::Result<T> + Send,
    ) -> io::Result<(OwnedFd, T)> {
        on_thread(Some(self.ns.as_raw_fd()), || {
            unshare_net()?;
            let made = inside()?;
            let ns = OwnedFd::from(std::fs::File::open("/proc/thread-self/ns/net")?);
            Ok((ns, made))
        })
    }
}

fn unshare_net() -> io::Result<()> {
    // SAFETY: unshare affects only the calling (short-lived) thread.
    if unsafe { libc::unshare(libc::CLONE_NEWNET) } == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Runs `f` on a new thread, first joining network namespace `netns` if given.
fn on_thread<T: Send>(
    netns: Option<i32>,
    f: impl FnOnce() -> io::Result<T> + Send,
) -> io::Result<T> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                if let Some(fd) = netns {
                    // SAFETY: setns changes only this thread's namespace.
                    if unsafe { libc::setns(fd, libc::CLONE_NEWNET) } == -1 {
                        return Err(io::Error::last_os_error());
                    }
                }
                f()
            })
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("namespace thread panicked")))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_get_a_table_of_their_own_and_the_host_keeps_its_setting() {
        let host_before = std::fs::read_to_string("/proc/sys/net/ipv4/tcp_child_ehash_entries");
        let parent = match TableParent::create(SCENARIO_BUCKETS) {
            Ok(parent) => parent,
            Err(e) => {
                eprintln!("skipped: no namespace with a private TCP table here: {e}");
                return;
            }
        };
        let (ns, buckets) = parent
            .new_namespace(|| std::fs::read_to_string("/proc/sys/net/ipv4/tcp_ehash_entries"))
            .unwrap();
        assert_eq!(buckets.trim(), SCENARIO_BUCKETS.to_string());
        let diag = super::super::SockDiag::in_namespace(ns.as_fd()).unwrap();
        assert!(diag.sockets(super::super::States::HELD).unwrap().is_empty());
        assert_eq!(
            std::fs::read_to_string("/proc/sys/net/ipv4/tcp_child_ehash_entries").ok(),
            host_before.ok(),
            "the host's sysctl is untouched"
        );
    }
}
