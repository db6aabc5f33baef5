use clap::Parser;
use porttune::cli::Command;

fn finish(r: porttune::error::Result<i32>) -> i32 {
    match r {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

fn main() {
    let cli = porttune::cli::Cli::parse();
    let code = match &cli.command {
        Command::Check => 0,
        Command::Plan(a) => finish(porttune::apply::cli::run_plan(a)),
        Command::Apply(a) => finish(porttune::apply::cli::run_apply(a)),
        Command::Rollback(a) => finish(porttune::apply::cli::run_rollback(a)),
        Command::Profiles(a) => finish(porttune::apply::cli::run_profiles(a)),
    };
    std::process::exit(code);
}
