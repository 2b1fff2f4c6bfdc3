//! Each reference server against its reference client as built binaries
//! (processes, real stdio through pipes).

mod support;

use std::process::Command as ProcessCommand;
use std::time::Duration;

use assert_cmd::Command;
use socklab_reference::Program;
use socklab_reference::wire::daytime;
use support::{ServerProcess, binary, binary_content, expected_lottery_session, tempdir};

const CLIENT_TIMEOUT: Duration = Duration::from_secs(30);

fn client(program: Program) -> Command {
    let mut command = Command::cargo_bin(program.name()).unwrap();
    command.timeout(CLIENT_TIMEOUT);
    command
}

#[test]
fn daytime_pair() {
    let server = ServerProcess::reference(Program::DaytimeServer, &[]);
    let output = client(Program::DaytimeClient)
        .args(["127.0.0.1", &server.port.to_string()])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    daytime::parse(&output.stdout).unwrap();
}

#[test]
fn echo_pair_in_every_concurrency() {
    let input = "first line\nsecond line\n\nno newline at the end";
    for concurrency in ["iterative", "fork", "async"] {
        let server = ServerProcess::reference(Program::EchoServer, &["--concurrency", concurrency]);
        client(Program::EchoClient)
            .args(["127.0.0.1", &server.port.to_string()])
            .write_stdin(input)
            .assert()
            .success()
            .stdout(input);
    }
}

#[test]
fn sum_pair_with_the_fork_server() {
    let server = ServerProcess::reference(Program::EchoServer, &["--mode", "sum"]);
    client(Program::EchoClient)
        .args(["127.0.0.1", &server.port.to_string()])
        .write_stdin("2 5\n4 2\n11 123\nabc\n")
        .assert()
        .success()
        .stdout("7\n6\n134\ninput error\n");
}

#[test]
fn lottery_pair_through_pipes() {
    let server = ServerProcess::reference(Program::LotteryServer, &["--seed", "99"]);
    let commands = [0, 0, 1, 0, 0, 0, 0, 0, 1, 2];
    let stdin: String = commands.iter().map(|c| format!("{c}\n")).collect();
    client(Program::LotteryClient)
        .args(["127.0.0.1", &server.port.to_string()])
        .write_stdin(stdin)
        .assert()
        .success()
        .stdout(expected_lottery_session(99, &commands));
    assert_eq!(server.finish().code, 0);
}

#[test]
fn lottery_pair_over_ipv6() {
    let server = ServerProcess::reference(Program::LotteryServer, &["--bind", "::", "--seed", "5"]);
    client(Program::LotteryClient)
        .args(["::1", &server.port.to_string()])
        .write_stdin("1\n2\n")
        .assert()
        .success()
        .stdout(expected_lottery_session(5, &[1, 2]));
    assert_eq!(server.finish().code, 0);
}

#[test]
fn file_transfer_pair() {
    for size in [0, 257, 100_000] {
        let dir = tempdir();
        let content = binary_content(size);
        std::fs::write(dir.path().join("src.bin"), &content).unwrap();
        let mut command = ProcessCommand::new(binary(Program::FtServer));
        let port = support::free_port();
        command.arg(port.to_string()).current_dir(dir.path());
        let server = ServerProcess::start(command, port);
        client(Program::FtClient)
            .current_dir(dir.path())
            .args(["127.0.0.1", &port.to_string(), "src.bin", "dst.bin"])
            .assert()
            .success()
            .stdout("");
        let server = server.finish();
        assert_eq!(
            (server.code, server.stdout_text().as_str()),
            (0, "src.bin\n")
        );
        assert_eq!(
            std::fs::read(dir.path().join("dst.bin")).unwrap(),
            content,
            "size {size}"
        );
    }
}

#[test]
fn iterative_file_transfer_pairs() {
    let conventions: [&[&str]; 3] = [
        &["--iterative", "new-connection"],
        &["--iterative", "marker"],
        // An argument with a space, as lab.yaml's options render it.
        &[
            "--iterative",
            "one-connection",
            "--end-of-file",
            "short-segment",
            "--end-of-session",
            "client-sends TERMINATE CONNECTION",
        ],
    ];
    for flags in conventions {
        let mode = flags[1];
        let dir = tempdir();
        std::fs::write(dir.path().join("one"), binary_content(1234)).unwrap();
        std::fs::write(dir.path().join("two"), binary_content(256)).unwrap();
        let port = support::free_port();
        let mut command = ProcessCommand::new(binary(Program::FtServer));
        command
            .arg(port.to_string())
            .args(flags)
            .current_dir(dir.path());
        let server = ServerProcess::start(command, port);
        client(Program::FtClient)
            .current_dir(dir.path())
            .args(["127.0.0.1", &port.to_string()])
            .args(flags)
            .write_stdin("one one.copy\ntwo two.copy\n")
            .assert()
            .success()
            .stdout("File (SRC DST, or quit): ".repeat(3));
        let server = if mode == "new-connection" {
            server.stop()
        } else {
            server.finish()
        };
        assert_eq!(server.stdout_text(), "one\ntwo\n", "{mode}");
        assert_eq!(
            std::fs::read(dir.path().join("one.copy")).unwrap(),
            binary_content(1234)
        );
        assert_eq!(
            std::fs::read(dir.path().join("two.copy")).unwrap(),
            binary_content(256)
        );
    }
}
