//! `lottery-client`: see [`socklab_reference::Program::LotteryClient`].
fn main() {
    socklab_reference::main_with_args(
        socklab_reference::Program::LotteryClient,
        std::env::args_os().skip(1).collect(),
    )
}
