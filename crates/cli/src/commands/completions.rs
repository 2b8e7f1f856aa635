//! `rolecall completions SHELL`.

use clap::Args;
use clap_complete::Shell;

use crate::error::CliResult;
use crate::exit;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  rolecall completions bash > ~/.local/share/bash-completion/completions/rolecall\n  \
rolecall completions zsh > \"${fpath[1]}/_rolecall\"\n  rolecall completions fish > ~/.config/fish/completions/rolecall.fish"
)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: Shell,
}

pub(crate) fn run(args: &CompletionsArgs, command: &mut clap::Command) -> CliResult {
    clap_complete::generate(args.shell, command, "rolecall", &mut std::io::stdout());
    Ok(exit::OK)
}
