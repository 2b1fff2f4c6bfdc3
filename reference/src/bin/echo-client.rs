//! `echo-client`: see [`socklab_reference::Program::EchoClient`].
fn main() {
    socklab_reference::main_with_args(
        socklab_reference::Program::EchoClient,
        std::env::args_os().skip(1).collect(),
    )
}
