//! `ft-server`: see [`socklab_reference::Program::FtServer`].
fn main() {
    socklab_reference::main_with_args(
        socklab_reference::Program::FtServer,
        std::env::args_os().skip(1).collect(),
    )
}
