//! `lottery-server`: see [`socklab_reference::Program::LotteryServer`].
fn main() {
    socklab_reference::main_with_args(
        socklab_reference::Program::LotteryServer,
        std::env::args_os().skip(1).collect(),
    )
}
