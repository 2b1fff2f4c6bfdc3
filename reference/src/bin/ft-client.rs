//! `ft-client`: see [`socklab_reference::Program::FtClient`].
fn main() {
    socklab_reference::main_with_args(
        socklab_reference::Program::FtClient,
        std::env::args_os().skip(1).collect(),
    )
}
