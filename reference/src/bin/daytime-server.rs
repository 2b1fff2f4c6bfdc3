//! `daytime-server`: see [`socklab_reference::Program::DaytimeServer`].
fn main() {
    socklab_reference::main_with_args(
        socklab_reference::Program::DaytimeServer,
        std::env::args_os().skip(1).collect(),
    )
}
