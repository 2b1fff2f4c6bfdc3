//! Live capture: an `AF_PACKET` socket inside a network namespace.
//!
//! A [`Capture`] records the TCP traffic of one network namespace — a
//! scenario's host — from socklab itself, without tcpdump. [`Capture::start`]
//! spawns a dedicated thread that enters the namespace (`setns`, which
//! moves only that thread), opens one `AF_PACKET` socket there (the socket
//! belongs to that namespace for its whole life) with a kernel filter that
//! passes only TCP, and returns once the socket is open: traffic after
//! `start` returns is seen. The socket is not bound, so it hears every
//! interface of the namespace (`lo` and the links between hosts, also ones
//! created later), unless [`Interfaces::Named`] lists some.
//!
//! Each packet gets the kernel's receive timestamp (`SO_TIMESTAMPNS`). On
//! `lo` the kernel shows a packet twice, leaving and arriving: the
//! arriving copy is dropped. The leaving one is kept because the kernel
//! hands it to the socket while the sender is still in its system call
//! (the arriving one comes later, from a softirq), so a packet sent by a
//! `write()` or `close()` that has returned is already queued for us. A [`PayloadCap`] decides how much
//! payload each packet keeps. [`Capture::stop`] wakes the thread (an
//! eventfd, no polling interval), which reads what is still queued and
//! hands back a [`Captured`]: the conversation model, a pcapng file
//! Wireshark opens, and the [`CapReport`]. [`Capture::snapshot`] does the
//! same without stopping: a packet check in the middle of a scenario
//! judges what was captured up to that moment.

use std::collections::{BTreeMap, HashSet};
use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use crate::cap::{CapReport, Capper, PayloadCap};
use crate::conversation::Conversation;
use crate::file::Timestamp;
use crate::file::pcapng::PcapngWriter;
use crate::link::LinkType;
use crate::segment::{self, TcpSegment};

/// How long [`Capture::start`] waits for the capture thread to open its socket.
const START_DEADLINE: Duration = Duration::from_secs(10);
/// The largest packet read (the loopback's MTU is 65536; GSO packets stay below 64 KiB).
const READ_BUFFER: usize = 256 * 1024;
/// The socket's receive buffer, so bursts are not dropped while the thread parses.
const SOCKET_BUFFER: libc::c_int = 8 * 1024 * 1024;

/// The network namespace to capture in.
#[derive(Debug)]
pub enum Namespace {
    /// The namespace of the calling process.
    Current,
    /// A namespace file: `/proc/PID/ns/net` or `/run/netns/NAME`.
    Path(PathBuf),
    /// An open namespace file (e.g. kept by the sandbox that made it).
    Fd(OwnedFd),
}

impl Namespace {
    /// The namespace process `pid` is in.
    pub fn of_process(pid: u32) -> Namespace {
        Namespace::Path(PathBuf::from(format!("/proc/{pid}/ns/net")))
    }

    /// A namespace made with `ip netns add NAME`.
    pub fn named(name: &str) -> Namespace {
        Namespace::Path(PathBuf::from(format!("/run/netns/{name}")))
    }

    fn describe(&self) -> String {
        match self {
            Namespace::Current => "the current network namespace".to_string(),
            Namespace::Path(path) => format!("network namespace {}", path.display()),
            Namespace::Fd(fd) => format!("the network namespace of fd {}", fd.as_raw_fd()),
        }
    }
}

/// Which interfaces to hear.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Interfaces {
    /// Every interface of the namespace, also ones created later.
    #[default]
    All,
    /// Only these (names as `ip link` shows them in the namespace).
    Named(Vec<String>),
}

/// What to capture and how much to keep.
#[derive(Debug)]
pub struct CaptureOptions {
    pub namespace: Namespace,
    pub interfaces: Interfaces,
    pub cap: PayloadCap,
}

impl CaptureOptions {
    /// Every interface of `namespace`, with the default cap.
    pub fn new(namespace: Namespace) -> CaptureOptions {
        CaptureOptions {
            namespace,
            interfaces: Interfaces::All,
            cap: PayloadCap::default(),
        }
    }
}

/// Why a capture could not be made; the scenario reports capture as
/// unavailable with this reason, and skips its packet checks.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("cannot open {what}: {source}")]
    Namespace { what: String, source: io::Error },
    #[error("cannot enter {what}: {source} (entering a network namespace needs CAP_SYS_ADMIN)")]
    Enter { what: String, source: io::Error },
    #[error(
        "cannot open an AF_PACKET socket: {0} (capturing needs CAP_NET_RAW in the namespace's user namespace)"
    )]
    Socket(io::Error),
    #[error("cannot set up the AF_PACKET socket ({what}): {source}")]
    Setup {
        what: &'static str,
        source: io::Error,
    },
    #[error("no interface named `{name}` in {namespace}")]
    NoInterface { name: String, namespace: String },
    #[error("reading packets failed: {0}")]
    Read(io::Error),
    #[error("the capture thread did not start within {0:?}")]
    StartTimeout(Duration),
    #[error("the capture thread failed: {0}")]
    Thread(String),
}

/// One packet as kept: an IP packet (possibly cut by the cap).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapturedPacket {
    pub time: Timestamp,
    /// The interface's name, prefixed by the capture's label when merged.
    pub interface: String,
    /// The IP packet's bytes as kept.
    pub data: Vec<u8>,
    /// Its length on the wire.
    pub original_len: u32,
}

/// What a capture recorded.
#[derive(Debug, Clone)]
pub struct Captured {
    /// The connections and their events.
    pub conversation: Conversation,
    /// A pcapng file of the kept packets (raw IP, nanosecond timestamps).
    pub pcapng: Vec<u8>,
    /// What was kept and cut.
    pub cap: CapReport,
    /// The kept packets in time order (frame N of the pcapng is `packets[N-1]`).
    pub packets: Vec<CapturedPacket>,
}

impl Captured {
    /// One capture from several namespaces' (e.g. the two hosts of a
    /// scenario): packets merged in time order, interfaces named
    /// `LABEL/NAME`, a packet seen on both ends of a link kept once.
    pub fn merge(parts: Vec<(String, Captured)>) -> Captured {
        let mut packets = Vec::new();
        let mut report: Option<CapReport> = None;
        for (label, part) in parts {
            report = Some(match report {
                None => part.cap.clone(),
                Some(mut sum) => {
                    sum.packets_seen += part.cap.packets_seen;
                    sum.packets_kept += part.cap.packets_kept;
                    sum.packets_dropped += part.cap.packets_dropped;
                    sum.payload_seen += part.cap.payload_seen;
                    sum.payload_kept += part.cap.payload_kept;
                    sum.segments_cut += part.cap.segments_cut;
                    sum.kernel_drops += part.cap.kernel_drops;
                    sum
                }
            });
            packets.extend(part.packets.into_iter().map(|p| CapturedPacket {
                interface: format!("{label}/{}", p.interface),
                ..p
            }));
        }
        packets.sort_by_key(|p| p.time);
        assemble(
            packets,
            report.unwrap_or_else(|| Capper::new(PayloadCap::default()).finish(0)),
        )
    }
}

/// What the capture thread hands back.
type Recording = Result<(Vec<CapturedPacket>, CapReport), CaptureError>;

/// What the capture thread is asked to do when woken.
enum Request {
    /// Read what is queued and send a copy of everything so far.
    Snapshot(mpsc::Sender<(Vec<CapturedPacket>, CapReport)>),
    /// Read what is queued and end.
    Stop,
}

/// A capture under way; [`Capture::stop`] ends it.
pub struct Capture {
    /// Wakes the capture thread to look at `requests`.
    wake: OwnedFd,
    requests: mpsc::Sender<Request>,
    done: mpsc::Receiver<Recording>,
}

impl Capture {
    /// Start capturing; returns once the socket is open in the namespace.
    pub fn start(options: CaptureOptions) -> Result<Capture, CaptureError> {
        // SAFETY: eventfd has no memory-safety preconditions; the result is checked.
        let raw = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if raw < 0 {
            return Err(CaptureError::Setup {
                what: "eventfd",
                source: io::Error::last_os_error(),
            });
        }
        // SAFETY: `raw` is a new descriptor that nothing else owns.
        let wake = unsafe { OwnedFd::from_raw_fd(raw) };
        let wake_for_thread = wake.try_clone().map_err(|source| CaptureError::Setup {
            what: "eventfd",
            source,
        })?;
        let (ready_tx, ready_rx) = mpsc::channel();
        let (done_tx, done) = mpsc::channel();
        let (requests, requests_rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("socklab-capture".to_string())
            .spawn(move || {
                let (recording, socket) = record(options, wake_for_thread, requests_rx, ready_tx);
                let _ = done_tx.send(recording);
                // Closing an AF_PACKET socket waits for an RCU grace period
                // (milliseconds): done after the recording is handed over,
                // so `stop` does not wait for it.
                drop(socket);
            })
            .map_err(|e| CaptureError::Thread(e.to_string()))?;
        match ready_rx.recv_timeout(START_DEADLINE) {
            Ok(Ok(())) => Ok(Capture {
                wake,
                requests,
                done,
            }),
            Ok(Err(error)) => Err(error),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = requests.send(Request::Stop);
                signal(&wake);
                Err(CaptureError::StartTimeout(START_DEADLINE))
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                Err(CaptureError::Thread("panicked while starting".to_string()))
            }
        }
    }

    /// Everything recorded so far, the capture going on: what the kernel
    /// had queued when this was called is in it.
    pub fn snapshot(&self) -> Result<Captured, CaptureError> {
        let (reply, answer) = mpsc::channel();
        self.requests
            .send(Request::Snapshot(reply))
            .map_err(|_| CaptureError::Thread("ended".to_string()))?;
        signal(&self.wake);
        match answer.recv() {
            Ok((packets, report)) => Ok(assemble(packets, report)),
            // The thread ended instead of answering: its error says why.
            Err(_) => match self.done.try_recv() {
                Ok(Err(error)) => Err(error),
                _ => Err(CaptureError::Thread("ended".to_string())),
            },
        }
    }

    /// Stop, read what the kernel still holds, and return the recording.
    pub fn stop(self) -> Result<Captured, CaptureError> {
        let _ = self.requests.send(Request::Stop);
        signal(&self.wake);
        let (packets, report) = self
            .done
            .recv()
            .map_err(|_| CaptureError::Thread("panicked".to_string()))??;
        Ok(assemble(packets, report))
    }
}

impl Drop for Capture {
    /// A capture dropped without `stop` ends its thread too.
    fn drop(&mut self) {
        let _ = self.requests.send(Request::Stop);
        signal(&self.wake);
    }
}

fn signal(eventfd: &OwnedFd) {
    let one: u64 = 1;
    // SAFETY: writes 8 bytes from a valid u64 to an eventfd we own.
    unsafe {
        libc::write(eventfd.as_raw_fd(), (&one as *const u64).cast(), 8);
    }
}

/// The model, the pcapng file and the numbering from kept packets.
fn assemble(packets: Vec<CapturedPacket>, cap: CapReport) -> Captured {
    let comment = format!("Captured by socklab. {}", cap.describe());
    let mut writer = PcapngWriter::new(
        &format!("socklab {}", env!("CARGO_PKG_VERSION")),
        Some(&comment),
    );
    let mut interface_ids: BTreeMap<String, u32> = BTreeMap::new();
    let mut segments: Vec<TcpSegment> = Vec::with_capacity(packets.len());
    for (i, packet) in packets.iter().enumerate() {
        let next_id = interface_ids.len() as u32;
        let id = *interface_ids
            .entry(packet.interface.clone())
            .or_insert_with(|| {
                writer.add_interface(&packet.interface, LinkType::Raw, READ_BUFFER as u32);
                next_id
            });
        writer.write_packet(id, packet.time, &packet.data, packet.original_len);
        if let Ok(segment) = segment::parse_ip(&packet.data, i + 1, packet.time, id as usize) {
            segments.push(segment);
        }
    }
    Captured {
        conversation: Conversation::from_segments(segments),
        pcapng: writer.finish(),
        cap,
        packets,
    }
}

/// The capture thread: enter the namespace, open the socket, read until stopped.
fn record(
    options: CaptureOptions,
    wake: OwnedFd,
    requests: mpsc::Receiver<Request>,
    ready: mpsc::Sender<Result<(), CaptureError>>,
) -> (Recording, Option<OwnedFd>) {
    let (socket, wanted) = match open_socket(&options) {
        Ok(opened) => opened,
        Err(error) => {
            let _ = ready.send(Err(error));
            return (Err(CaptureError::Thread("did not start".to_string())), None);
        }
    };
    let _ = ready.send(Ok(()));
    let recording = read_until_stopped(&socket, &wake, &requests, options.cap, wanted);
    (recording, Some(socket))
}

/// Read packets until asked to stop (the eventfd `wake` says a request is
/// waiting), answering snapshots on the way; then what is queued.
fn read_until_stopped(
    socket: &OwnedFd,
    wake: &OwnedFd,
    requests: &mpsc::Receiver<Request>,
    cap: PayloadCap,
    wanted: Option<HashSet<i32>>,
) -> Recording {
    let mut reader = PacketReader::new(cap, wanted);
    loop {
        let mut fds = [
            libc::pollfd {
                fd: socket.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: wake.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: `fds` is a valid array of two pollfd for the call's duration.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) };
        if n < 0 {
            let error = io::Error::last_os_error();
            if error.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(CaptureError::Read(error));
        }
        reader.drain(socket)?;
        if fds[1].revents == 0 {
            continue;
        }
        clear(wake);
        // A request: what arrived before it was made is queued by now, and
        // read before it is answered.
        while let Ok(request) = requests.try_recv() {
            reader.drain(socket)?;
            reader.count_drops(socket);
            match request {
                Request::Snapshot(reply) => {
                    let _ = reply.send(reader.snapshot());
                }
                Request::Stop => return Ok(reader.finish()),
            }
        }
    }
}

/// Resets an eventfd's counter, so that the next poll waits for a new signal.
fn clear(eventfd: &OwnedFd) {
    let mut count: u64 = 0;
    // SAFETY: reads 8 bytes into a valid u64 from a non-blocking eventfd we own.
    unsafe {
        libc::read(eventfd.as_raw_fd(), (&mut count as *mut u64).cast(), 8);
    }
}

/// Enter the namespace (this thread only), open and configure the socket.
fn open_socket(options: &CaptureOptions) -> Result<(OwnedFd, Option<HashSet<i32>>), CaptureError> {
    let what = options.namespace.describe();
    match &options.namespace {
        Namespace::Current => {}
        Namespace::Path(path) => {
            let file = std::fs::File::open(path).map_err(|source| CaptureError::Namespace {
                what: what.clone(),
                source,
            })?;
            enter(file.as_raw_fd(), &what)?;
        }
        Namespace::Fd(fd) => enter(fd.as_raw_fd(), &what)?,
    }
    let protocol = (libc::ETH_P_ALL as u16).to_be() as libc::c_int;
    // SAFETY: plain socket(2) call; the result is checked.
    let raw = unsafe {
        libc::socket(
            libc::AF_PACKET,
            libc::SOCK_DGRAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            protocol,
        )
    };
    if raw < 0 {
        return Err(CaptureError::Socket(io::Error::last_os_error()));
    }
    // SAFETY: `raw` is a new descriptor that nothing else owns.
    let socket = unsafe { OwnedFd::from_raw_fd(raw) };
    attach_tcp_filter(&socket)?;
    set_int(
        &socket,
        libc::SOL_SOCKET,
        libc::SO_TIMESTAMPNS,
        1,
        "SO_TIMESTAMPNS",
    )?;
    if set_int(
        &socket,
        libc::SOL_SOCKET,
        libc::SO_RCVBUFFORCE,
        SOCKET_BUFFER,
        "SO_RCVBUFFORCE",
    )
    .is_err()
    {
        set_int(
            &socket,
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            SOCKET_BUFFER,
            "SO_RCVBUF",
        )?;
    }
    let wanted = match &options.interfaces {
        Interfaces::All => None,
        Interfaces::Named(names) => {
            let mut indexes = HashSet::new();
            for name in names {
                let c_name =
                    CString::new(name.as_str()).map_err(|_| CaptureError::NoInterface {
                        name: name.clone(),
                        namespace: what.clone(),
                    })?;
                // SAFETY: `c_name` is a valid NUL-terminated string.
                let index = unsafe { libc::if_nametoindex(c_name.as_ptr()) };
                if index == 0 {
                    return Err(CaptureError::NoInterface {
                        name: name.clone(),
                        namespace: what.clone(),
                    });
                }
                indexes.insert(index as i32);
            }
            Some(indexes)
        }
    };
    Ok((socket, wanted))
}

fn enter(fd: RawFd, what: &str) -> Result<(), CaptureError> {
    // SAFETY: setns on a namespace fd; affects only the calling thread.
    if unsafe { libc::setns(fd, libc::CLONE_NEWNET) } != 0 {
        return Err(CaptureError::Enter {
            what: what.to_string(),
            source: io::Error::last_os_error(),
        });
    }
    Ok(())
}

fn set_int(
    socket: &OwnedFd,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
    what: &'static str,
) -> Result<(), CaptureError> {
    // SAFETY: passes a pointer to a live c_int and its size.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            level,
            name,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(CaptureError::Setup {
            what,
            source: io::Error::last_os_error(),
        });
    }
    Ok(())
}

/// A classic BPF program run by the kernel on each packet (the socket is
/// SOCK_DGRAM, so offset 0 is the IP header): IPv4 with protocol 6, or
/// any IPv6 (its extension headers are left to [`segment::parse_ip`]).
fn attach_tcp_filter(socket: &OwnedFd) -> Result<(), CaptureError> {
    const LD_B_ABS: u16 = 0x30; // BPF_LD | BPF_B | BPF_ABS
    const AND_K: u16 = 0x54; // BPF_ALU | BPF_AND | BPF_K
    const JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
    const RET_K: u16 = 0x06; // BPF_RET | BPF_K
    let op = |code: u16, jt: u8, jf: u8, k: u32| libc::sock_filter { code, jt, jf, k };
    let mut program = [
        op(LD_B_ABS, 0, 0, 0),               // 0: A = first byte
        op(AND_K, 0, 0, 0xf0),               // 1: A = version << 4
        op(JEQ_K, 0, 2, 0x40),               // 2: IPv4 → 3, else → 5
        op(LD_B_ABS, 0, 0, 9),               // 3: A = IPv4 protocol
        op(JEQ_K, 1, 2, 6),                  // 4: TCP → 6, else → 7
        op(JEQ_K, 0, 1, 0x60),               // 5: IPv6 → 6, else → 7
        op(RET_K, 0, 0, READ_BUFFER as u32), // 6: keep
        op(RET_K, 0, 0, 0),                  // 7: drop
    ];
    let filter = libc::sock_fprog {
        len: program.len() as u16,
        filter: program.as_mut_ptr(),
    };
    // SAFETY: `filter` points to `program`, alive for the call.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ATTACH_FILTER,
            (&filter as *const libc::sock_fprog).cast(),
            std::mem::size_of::<libc::sock_fprog>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(CaptureError::Setup {
            what: "SO_ATTACH_FILTER",
            source: io::Error::last_os_error(),
        });
    }
    Ok(())
}

/// Packets the kernel dropped for want of room in the socket's buffer
/// since the last call (reading the statistics resets them).
fn kernel_drops(socket: &OwnedFd) -> u64 {
    let mut stats = libc::tpacket_stats {
        tp_packets: 0,
        tp_drops: 0,
    };
    let mut len = std::mem::size_of::<libc::tpacket_stats>() as libc::socklen_t;
    // SAFETY: `stats` and `len` are valid for writing; the kernel fills them.
    let rc = unsafe {
        libc::getsockopt(
            socket.as_raw_fd(),
            libc::SOL_PACKET,
            libc::PACKET_STATISTICS,
            (&mut stats as *mut libc::tpacket_stats).cast(),
            &mut len,
        )
    };
    if rc == 0 {
        u64::from(stats.tp_drops)
    } else {
        0
    }
}

/// Reads packets off the socket, applying the cap.
struct PacketReader {
    buffer: Vec<u8>,
    capper: Capper,
    wanted: Option<HashSet<i32>>,
    names: BTreeMap<i32, String>,
    packets: Vec<CapturedPacket>,
    /// Packets the kernel dropped, summed over every reading.
    drops: u64,
}

impl PacketReader {
    fn new(cap: PayloadCap, wanted: Option<HashSet<i32>>) -> PacketReader {
        PacketReader {
            buffer: vec![0; READ_BUFFER],
            capper: Capper::new(cap),
            wanted,
            names: BTreeMap::new(),
            packets: Vec::new(),
            drops: 0,
        }
    }

    fn count_drops(&mut self, socket: &OwnedFd) {
        self.drops += kernel_drops(socket);
    }

    /// A copy of what is recorded so far, in time order.
    fn snapshot(&self) -> (Vec<CapturedPacket>, CapReport) {
        let mut packets = self.packets.clone();
        packets.sort_by_key(|p| p.time);
        (packets, self.capper.report(self.drops))
    }

    /// Read every packet queued now.
    fn drain(&mut self, socket: &OwnedFd) -> Result<(), CaptureError> {
        loop {
            // SAFETY: all-zero is a valid sockaddr_ll.
            let mut address: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
            let mut control = [0u64; 16];
            let mut iov = libc::iovec {
                iov_base: self.buffer.as_mut_ptr().cast(),
                iov_len: self.buffer.len(),
            };
            // SAFETY: all-zero is a valid msghdr; its pointers are set below.
            let mut message: libc::msghdr = unsafe { std::mem::zeroed() };
            message.msg_name = (&mut address as *mut libc::sockaddr_ll).cast();
            message.msg_namelen = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
            message.msg_iov = &mut iov;
            message.msg_iovlen = 1;
            message.msg_control = control.as_mut_ptr().cast();
            message.msg_controllen = std::mem::size_of_val(&control) as _;
            // SAFETY: every pointer in `message` refers to live buffers of the stated sizes.
            let n = unsafe {
                libc::recvmsg(
                    socket.as_raw_fd(),
                    &mut message,
                    libc::MSG_TRUNC | libc::MSG_DONTWAIT,
                )
            };
            if n < 0 {
                let error = io::Error::last_os_error();
                return match error.kind() {
                    io::ErrorKind::WouldBlock => Ok(()),
                    io::ErrorKind::Interrupted => continue,
                    _ => Err(CaptureError::Read(error)),
                };
            }
            let original_len = n as usize;
            let captured = original_len.min(self.buffer.len());
            if address.sll_pkttype != libc::PACKET_OUTGOING
                && address.sll_hatype == libc::ARPHRD_LOOPBACK
            {
                continue; // the loopback's delivery of a packet seen leaving
            }
            if self
                .wanted
                .as_ref()
                .is_some_and(|w| !w.contains(&address.sll_ifindex))
            {
                continue;
            }
            let time = timestamp(&message).unwrap_or_else(now);
            self.keep(address.sll_ifindex, time, captured, original_len as u32);
        }
    }

    fn keep(&mut self, ifindex: i32, time: Timestamp, captured: usize, original_len: u32) {
        let ip = &self.buffer[..captured];
        let Ok(segment) = segment::parse_ip(ip, 0, time, 0) else {
            return;
        };
        let Some(keep_payload) =
            self.capper
                .admit(segment.source, segment.destination, segment.payload_len)
        else {
            return;
        };
        let headers = segment::headers_len(ip).unwrap_or(ip.len());
        let keep = (headers + keep_payload as usize).min(ip.len());
        let interface = self
            .names
            .entry(ifindex)
            .or_insert_with(|| interface_name(ifindex))
            .clone();
        self.packets.push(CapturedPacket {
            time,
            interface,
            data: ip[..keep].to_vec(),
            original_len,
        });
    }

    fn finish(mut self) -> (Vec<CapturedPacket>, CapReport) {
        self.packets.sort_by_key(|p| p.time);
        (self.packets, self.capper.finish(self.drops))
    }
}

/// The kernel's receive time from the SCM_TIMESTAMPNS control message.
fn timestamp(message: &libc::msghdr) -> Option<Timestamp> {
    // SAFETY: the CMSG macros walk the control buffer the kernel filled,
    // within msg_controllen.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(message);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_TIMESTAMPNS
            {
                let spec: libc::timespec = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast());
                return Some(Timestamp::from_parts(
                    spec.tv_sec as i64,
                    spec.tv_nsec as i64,
                ));
            }
            cmsg = libc::CMSG_NXTHDR(message, cmsg);
        }
    }
    None
}

fn now() -> Timestamp {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp(since.as_nanos() as i64)
}

/// The interface's name in the capture thread's namespace (`if7` if it is gone).
fn interface_name(ifindex: i32) -> String {
    let mut name = [0 as libc::c_char; libc::IF_NAMESIZE];
    // SAFETY: `name` has room for IF_NAMESIZE bytes, as if_indextoname needs.
    let found = unsafe { libc::if_indextoname(ifindex as libc::c_uint, name.as_mut_ptr()) };
    if found.is_null() {
        return format!("if{ifindex}");
    }
    // SAFETY: if_indextoname wrote a NUL-terminated name into `name`.
    unsafe { std::ffi::CStr::from_ptr(name.as_ptr()) }
        .to_string_lossy()
        .into_owned()
}
