use clap::Parser;
use porttune::cli::{Cli, Command};

fn main() {
    let cli = Cli::parse();
    let code = match &cli.command {
        Command::Check => 0,
        Command::Flood(args) => porttune::flood::cli::run(args).unwrap_or_else(|e| {
            eprintln!("porttune flood: {e}");
            e.exit_code()
        }),
    };
    std::process::exit(code);
}
