//! Command-line behaviour of the binaries: usage errors, help, and the
//! runtime errors a student must also handle (port in use, connection
//! refused, missing file).

mod support;

use std::time::Duration;

use assert_cmd::Command;
use predicates::prelude::*;
use socklab_reference::Program;
use support::{ServerProcess, free_port, tempdir};

fn command(program: Program) -> Command {
    let mut command = Command::cargo_bin(program.name()).unwrap();
    command.timeout(Duration::from_secs(30));
    command
}

#[test]
fn every_program_has_help() {
    for program in Program::ALL {
        command(program)
            .arg("--help")
            .assert()
            .success()
            .stdout(predicate::str::contains(format!(
                "Usage: {}",
                program.name()
            )))
            .stderr("");
    }
}

#[test]
fn bad_command_lines_exit_2_with_a_usage_message() {
    let cases: &[(Program, &[&str])] = &[
        (Program::DaytimeServer, &["not-a-port"]),
        (Program::DaytimeClient, &[]),
        (Program::DaytimeClient, &["host.example"]),
        (Program::EchoServer, &["--mode", "product"]),
        (Program::EchoClient, &["127.0.0.1", "65536"]),
        (Program::LotteryServer, &[]),
        (Program::LotteryClient, &["127.0.0.1"]),
        (
            Program::LotteryClient,
            &["127.0.0.1", "9000", "--byte-order", "middle"],
        ),
        (Program::FtServer, &["9000", "extra"]),
        (Program::FtClient, &["127.0.0.1", "9000", "src"]),
        (
            Program::FtClient,
            &["127.0.0.1", "9000", "--iterative", "marker", "src", "dst"],
        ),
        (
            Program::FtServer,
            &["9000", "--end-of-file", "short-segment"],
        ),
        (
            Program::FtServer,
            &[
                "9000",
                "--iterative",
                "one-connection",
                "--end-of-file",
                "len0",
            ],
        ),
        (
            Program::FtServer,
            &[
                "9000",
                "--iterative",
                "one-connection",
                "--end-of-session",
                "bye",
            ],
        ),
        (
            Program::FtServer,
            &[
                "9000",
                "--iterative",
                "new-connection",
                "--end-of-file",
                "short-segment",
            ],
        ),
        (
            Program::FtClient,
            &[
                "127.0.0.1",
                "9000",
                "--iterative",
                "marker",
                "--end-of-session",
                "client-sends BYE",
            ],
        ),
    ];
    for (program, args) in cases {
        command(*program)
            .args(*args)
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicate::str::contains(format!(
                "Usage: {}",
                program.name()
            )));
    }
}

#[test]
fn conventions_that_contradict_their_mode_say_what_to_write() {
    command(Program::FtServer)
        .args(["9000", "--iterative", "marker", "--end-of-file", "short-segment"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "--iterative marker means --end-of-file len-0 and --end-of-session client-closes; \
             for --end-of-file short-segment --end-of-session \"client-closes\" write --iterative one-connection",
        ));
    command(Program::FtClient)
        .args(["127.0.0.1", "9000", "--iterative", "one-connection"])
        .args(["--end-of-session", "client-sends"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "write `client-closes`, or `client-sends TEXT`",
        ));
    // The defaults, which a lab manifest passes whatever the mode, are accepted.
    command(Program::FtServer)
        .args(["--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("--end-of-session <END>"));
}

#[test]
fn a_second_server_on_the_same_port_fails_clearly() {
    let servers: &[(Program, &[&str])] = &[
        (Program::DaytimeServer, &[]),
        (Program::EchoServer, &["--concurrency", "fork"]),
        (Program::EchoServer, &["--concurrency", "async"]),
        (Program::LotteryServer, &[]),
        (Program::FtServer, &[]),
    ];
    for (program, args) in servers {
        let first = ServerProcess::reference(*program, args);
        let port = first.port.to_string();
        let expected = format!(
            "{}: bind 0.0.0.0:{port}: Address already in use",
            program.name()
        );
        command(*program)
            .arg(&port)
            .args(*args)
            .assert()
            .code(1)
            .stderr(predicate::str::starts_with(expected));
    }
}

#[test]
fn clients_report_connection_refused() {
    let port = free_port().to_string();
    let clients: &[(Program, &[&str])] = &[
        (Program::DaytimeClient, &[]),
        (Program::EchoClient, &[]),
        (Program::LotteryClient, &[]),
        (Program::FtClient, &["src", "dst"]),
        (Program::FtClient, &["--iterative", "marker"]),
    ];
    let dir = tempdir();
    for (program, args) in clients {
        let expected = format!(
            "{}: connect 127.0.0.1:{port}: Connection refused",
            program.name()
        );
        command(*program)
            .current_dir(dir.path())
            .arg("127.0.0.1")
            .arg(&port)
            .args(*args)
            .write_stdin("")
            .assert()
            .code(1)
            .stderr(predicate::str::starts_with(expected));
    }
    assert!(
        !dir.path().join("dst").exists(),
        "nothing is created when the server is unreachable"
    );
}

#[test]
fn ft_server_reports_a_missing_file() {
    let dir = tempdir();
    let port = free_port();
    let mut server = std::process::Command::new(support::binary(Program::FtServer));
    server.arg(port.to_string()).current_dir(dir.path());
    let server = ServerProcess::start(server, port);
    command(Program::FtClient)
        .current_dir(dir.path())
        .args(["127.0.0.1", &port.to_string(), "no-such-file", "out"])
        .assert()
        .success();
    let server = server.finish();
    assert_eq!(server.code, 1);
    assert_eq!(server.stdout_text(), "no-such-file\n");
    assert_eq!(
        server.stderr_text(),
        "ft-server: open no-such-file: No such file or directory (os error 2)\n"
    );
}

#[test]
fn ft_client_reports_a_destination_it_cannot_create() {
    let dir = tempdir();
    std::fs::write(dir.path().join("src"), b"data").unwrap();
    let port = free_port();
    let mut server = std::process::Command::new(support::binary(Program::FtServer));
    server.arg(port.to_string()).current_dir(dir.path());
    let _server = ServerProcess::start(server, port);
    command(Program::FtClient)
        .current_dir(dir.path())
        .args(["127.0.0.1", &port.to_string(), "src", "missing-dir/dst"])
        .assert()
        .code(1)
        .stderr("ft-client: create missing-dir/dst: No such file or directory (os error 2)\n");
}

#[test]
fn lottery_client_prompts_without_newline_and_rejects_garbage() {
    let server = ServerProcess::reference(Program::LotteryServer, &[]);
    command(Program::LotteryClient)
        .args(["127.0.0.1", &server.port.to_string()])
        .write_stdin("list\n")
        .assert()
        .code(1)
        .stdout("Command (0:GEN 1:LIST 2:END): ")
        .stderr("lottery-client: expected an integer command, got \"list\"\n");
    assert_eq!(server.finish().code, 0);
}
