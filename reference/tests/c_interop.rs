//! The reference programs against the correct C submission
//! (`examples/submissions/good`), compiled here with gcc: C client ↔ Rust
//! server and Rust client ↔ C server for the lottery and file transfer (the
//! programs whose port is configurable). Agreement on the bytes shows the
//! reference uses the same byte order (host) and struct size (260) as C.

mod support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use socklab_reference::Program;
use socklab_reference::wire::ByteOrder;
use socklab_reference::wire::filetransfer::{SEGMENT_SIZE, Segment};
use socklab_reference::wire::lottery::{COMMAND_SIZE, Command as LotteryCommand, PROMPT, Reply};
use support::{
    ServerProcess, binary, binary_content, expected_lottery_session, free_port, tempdir,
};

fn submission_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/submissions/good")
}

/// Compile `name.c` of the good submission into `dir` as the grader does.
fn compile(name: &str, dir: &Path) -> PathBuf {
    let source = submission_dir().join(format!("{name}.c"));
    assert!(
        source.exists(),
        "the C submission is missing {}",
        source.display()
    );
    let output = dir.join(name);
    let result = Command::new("gcc")
        .args(["-std=gnu11", "-O2", "-Wall", "-o"])
        .arg(&output)
        .arg(&source)
        .output();
    let result = match result {
        Ok(result) => result,
        Err(e) => panic!("cannot run gcc ({e}): the C interop tests need gcc on PATH"),
    };
    assert!(
        result.status.success(),
        "gcc failed on {}:\n{}",
        source.display(),
        String::from_utf8_lossy(&result.stderr)
    );
    output
}

/// Run a client to completion with `stdin`, failing the test if it hangs.
fn run_client(mut command: Command, stdin: &[u8]) -> Output {
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("start the client");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(support::DEADLINE) {
        Ok(output) => output.unwrap(),
        Err(_) => {
            // SAFETY: kill(2) on the pid of the child this test started.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            panic!(
                "the client (pid {pid}) did not finish within {:?}",
                support::DEADLINE
            );
        }
    }
}

fn assert_success(what: &str, output: &Output) {
    assert!(
        output.status.success(),
        "{what} failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

fn lottery_stdin(commands: &[i32]) -> String {
    commands.iter().map(|c| format!("{c}\n")).collect()
}

#[test]
fn c_lottery_client_against_the_reference_server() {
    let dir = tempdir();
    let client = compile("LotteryClient", dir.path());
    let server = ServerProcess::reference(Program::LotteryServer, &["--seed", "11"]);
    let commands = [0, 0, 1, 0, 0, 0, 0, 0, 1, 2];
    let mut command = Command::new(client);
    command.args(["127.0.0.1", &server.port.to_string()]);
    let output = run_client(command, lottery_stdin(&commands).as_bytes());
    assert_success("LotteryClient", &output);
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        expected_lottery_session(11, &commands)
    );
    assert_eq!(server.finish().code, 0);
}

#[test]
fn reference_lottery_client_against_the_c_server() {
    let dir = tempdir();
    let c_server = compile("LotteryServer", dir.path());
    let port = free_port();
    let mut command = Command::new(c_server);
    command.arg(port.to_string());
    let server = ServerProcess::start(command, port);
    let commands = [1, 0, 0, 0, 0, 0, 0, 0, 1, 2];
    let mut command = Command::new(binary(Program::LotteryClient));
    command.args(["127.0.0.1", &port.to_string()]);
    let output = run_client(command, lottery_stdin(&commands).as_bytes());
    assert_success("lottery-client", &output);

    let text = String::from_utf8(output.stdout).unwrap();
    let replies: Vec<Reply> = text
        .split(PROMPT)
        .filter(|part| !part.is_empty())
        .map(|line| {
            Reply::parse(line.strip_suffix('\n').unwrap().as_bytes())
                .unwrap_or_else(|| panic!("{line:?}"))
        })
        .collect();
    assert_eq!(replies.len(), 9, "{text:?}");
    assert_eq!(replies[0], Reply::Numbers([0; 6]));
    let drawn: Vec<u8> = replies[1..7]
        .iter()
        .map(|reply| match reply {
            Reply::Generated(n) => *n,
            other => panic!("expected a new number, got {other:?}"),
        })
        .collect();
    assert!(drawn.iter().all(|n| (1..=45).contains(n)));
    assert_eq!(replies[7], Reply::Full);
    assert_eq!(replies[8], Reply::Numbers(drawn.try_into().unwrap()));
    assert_eq!(server.finish().code, 0);
}

#[test]
fn c_lottery_client_sends_what_the_reference_decodes() {
    let dir = tempdir();
    let client = compile("LotteryClient", dir.path());
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let peer = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(support::DEADLINE)).unwrap();
        let mut seen = Vec::new();
        for _ in 0..2 {
            let mut command = [0u8; COMMAND_SIZE];
            stream.read_exact(&mut command).unwrap();
            seen.push(command);
            if LotteryCommand::decode(command, ByteOrder::Host) == LotteryCommand::List {
                stream.write_all(b"numbers: 1 2 3 4 5 6").unwrap();
            }
        }
        seen
    });
    let mut command = Command::new(client);
    command.args(["127.0.0.1", &port.to_string()]);
    let output = run_client(command, b"1\n2\n");
    assert_success("LotteryClient", &output);
    let seen = peer.join().unwrap();
    assert_eq!(
        seen,
        [
            LotteryCommand::List.encode(ByteOrder::Host),
            LotteryCommand::End.encode(ByteOrder::Host)
        ]
    );
    assert_eq!(seen[0], 1i32.to_ne_bytes(), "a C int in host byte order");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        format!("{PROMPT}numbers: 1 2 3 4 5 6\n{PROMPT}")
    );
}

const SIZES: [usize; 3] = [0, 257, 100_000];

#[test]
fn c_ft_client_against_the_reference_server() {
    let dir = tempdir();
    let client = compile("FTClient", dir.path());
    for size in SIZES {
        let content = binary_content(size);
        std::fs::write(dir.path().join("source.bin"), &content).unwrap();
        let port = free_port();
        let mut command = Command::new(binary(Program::FtServer));
        command.arg(port.to_string()).current_dir(dir.path());
        let server = ServerProcess::start(command, port);
        let mut command = Command::new(&client);
        command
            .args(["127.0.0.1", &port.to_string(), "source.bin", "copy.bin"])
            .current_dir(dir.path());
        assert_success("FTClient", &run_client(command, b""));
        let server = server.finish();
        assert_eq!(
            (server.code, server.stdout_text().as_str()),
            (0, "source.bin\n")
        );
        assert_eq!(
            std::fs::read(dir.path().join("copy.bin")).unwrap(),
            content,
            "size {size}"
        );
    }
}

fn start_c_server(executable: &Path, dir: &Path) -> ServerProcess {
    let port = free_port();
    let mut command = Command::new(executable);
    command.arg(port.to_string()).current_dir(dir);
    ServerProcess::start(command, port)
}

#[test]
fn reference_ft_client_against_the_c_server() {
    let dir = tempdir();
    let c_server = compile("FTServer", dir.path());
    for size in SIZES {
        let content = binary_content(size);
        std::fs::write(dir.path().join("source.bin"), &content).unwrap();
        let server = start_c_server(&c_server, dir.path());
        let mut command = Command::new(binary(Program::FtClient));
        let port = server.port.to_string();
        command
            .args(["127.0.0.1", &port, "source.bin", "copy.bin"])
            .current_dir(dir.path());
        assert_success("ft-client", &run_client(command, b""));
        let server = server.finish();
        assert_eq!(
            (server.code, server.stdout_text().as_str()),
            (0, "source.bin\n")
        );
        assert_eq!(
            std::fs::read(dir.path().join("copy.bin")).unwrap(),
            content,
            "size {size}"
        );
    }
}

#[test]
fn c_ft_server_segments_decode_as_reference_segments() {
    let dir = tempdir();
    let c_server = compile("FTServer", dir.path());
    let content = binary_content(1000);
    std::fs::write(dir.path().join("data"), &content).unwrap();
    let server = start_c_server(&c_server, dir.path());
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    stream.set_read_timeout(Some(support::DEADLINE)).unwrap();
    stream.write_all(b"data").unwrap();
    let mut received = Vec::new();
    stream.read_to_end(&mut received).unwrap();
    assert_eq!(
        received.len(),
        4 * SEGMENT_SIZE,
        "sizeof(file_segment) is 260: 3 full segments and one of 232"
    );
    let mut data = Vec::new();
    for bytes in received.chunks(SEGMENT_SIZE) {
        let segment = Segment::decode(bytes.try_into().unwrap(), ByteOrder::Host);
        data.extend_from_slice(segment.data().expect("len in host order, 0..=256"));
    }
    assert_eq!(data, content);
    assert_eq!(server.finish().code, 0);
}

#[test]
fn iterative_transfers_between_c_and_the_reference() {
    let dir = tempdir();
    let c_client = compile("FTClientIter", dir.path());
    let c_server = compile("FTServerIter", dir.path());
    for size in SIZES {
        std::fs::write(dir.path().join(format!("f{size}")), binary_content(size)).unwrap();
    }
    let requests: String = SIZES
        .iter()
        .map(|size| format!("f{size} c{size}\n"))
        .collect();
    let prompts = "File (SRC DST, or quit): ".repeat(SIZES.len() + 1);
    let served_paths: String = SIZES.iter().map(|size| format!("f{size}\n")).collect();

    // C client, reference server.
    let port = free_port();
    let mut command = Command::new(binary(Program::FtServer));
    command
        .args([&port.to_string(), "--iterative", "new-connection"])
        .current_dir(dir.path());
    let server = ServerProcess::start(command, port);
    let mut command = Command::new(&c_client);
    command
        .args(["127.0.0.1", &port.to_string()])
        .current_dir(dir.path());
    let output = run_client(command, requests.as_bytes());
    assert_success("FTClientIter", &output);
    assert_eq!(String::from_utf8_lossy(&output.stdout), prompts);
    assert_eq!(server.stop().stdout_text(), served_paths);

    // Reference client, C server.
    let requests = requests.replace(" c", " r");
    let server = start_c_server(&c_server, dir.path());
    let mut command = Command::new(binary(Program::FtClient));
    command
        .args([
            "127.0.0.1",
            &server.port.to_string(),
            "--iterative",
            "new-connection",
        ])
        .current_dir(dir.path());
    let output = run_client(command, requests.as_bytes());
    assert_success("ft-client --iterative", &output);
    assert_eq!(String::from_utf8_lossy(&output.stdout), prompts);
    assert_eq!(server.stop().stdout_text(), served_paths);

    for size in SIZES {
        let original = binary_content(size);
        assert_eq!(
            std::fs::read(dir.path().join(format!("c{size}"))).unwrap(),
            original,
            "C client, {size}"
        );
        assert_eq!(
            std::fs::read(dir.path().join(format!("r{size}"))).unwrap(),
            original,
            "reference client, {size}"
        );
    }
}
