//! `daytime-client`: see [`socklab_reference::Program::DaytimeClient`].
fn main() {
    socklab_reference::main_with_args(
        socklab_reference::Program::DaytimeClient,
        std::env::args_os().skip(1).collect(),
    )
}
