//! What the kernel can tell socklab about a scenario's programs, asked
//! directly instead of guessed from timing.
//!
//! - [`sock_diag`]: the TCP sockets of a network namespace through netlink
//!   `inet_diag` (listening sockets for readiness in tens of microseconds;
//!   every socket with its state, addresses, queues and inode).
//! - [`process`]: what a process is doing from `/proc`: each thread's state,
//!   wait channel and the system call it is blocked in with its arguments,
//!   and what each descriptor is, joined with the sockets ("waits in read()
//!   on fd 4; fd 4 is TCP 10.0.0.1:20000 ↔ 10.0.0.2:41234, 0 bytes queued").
//! - [`blocked`]: what the system call a thread is blocked in waits for
//!   (its arguments read from `/proc` and the process's memory).
//! - [`netns`]: namespaces with a TCP hash table of their own, which make
//!   the full socket dumps above cost tens of microseconds instead of
//!   milliseconds (for the sandbox to make its hosts with).
//! - [`quiescence`]: whether anything in the scenario can still change
//!   without socklab acting, with the evidence per process, so a check can
//!   fail at once instead of at its deadline (`docs/deciding.md`).
//!
//! The runner ([`crate::run`]) asks these questions; the modules only read
//! kernel state and never change it (they open no socket but their own
//! netlink ones, and signal no process).

pub mod blocked;
pub mod netns;
pub mod process;
pub mod quiescence;
pub mod sock_diag;
mod syscalls;

pub use process::{Call, FdTarget, ProcessView};
pub use quiescence::{Evidence, QuiescenceProbe, Verdict};
pub use sock_diag::{NetnsId, SockDiag, States, TcpSocket, TcpState, Traffic};
