//! The `rolecall` binary: everything lives in `rolecall-cli`.

fn main() -> std::process::ExitCode {
    rolecall_cli::main()
}
