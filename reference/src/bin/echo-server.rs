//! `echo-server`: see [`socklab_reference::Program::EchoServer`].
fn main() {
    socklab_reference::main_with_args(
        socklab_reference::Program::EchoServer,
        std::env::args_os().skip(1).collect(),
    )
}
