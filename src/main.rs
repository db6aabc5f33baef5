use clap::Parser;
use porttune::cli::{Cli, Command};
use porttune::error::exit;

fn main() {
    let cli = Cli::parse();
    let res = match &cli.command {
        Command::Check(a) => porttune::commands::check::run(a),
        Command::Flood(a) => porttune::flood::cli::run(a),
    };
    let code = match res {
        Ok(code) => code,
        Err(e) => {
            eprintln!("porttune: error: {e}");
            e.exit_code()
        }
    };
    std::process::exit(if (0..=3).contains(&code) {
        code
    } else {
        exit::INTERNAL
    });
}
