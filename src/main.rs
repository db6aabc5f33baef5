use clap::Parser;
use porttune::cli::{Cli, Command};
use porttune::error::exit;

fn main() {
    let cli = Cli::parse();
    colored::control::set_override(porttune::render::use_colour(
        std::io::IsTerminal::is_terminal(&std::io::stdout()),
    ));
    let res = match &cli.command {
        Command::Check(a) => porttune::commands::check::run(a),
        Command::Explain(a) => porttune::commands::explain::run(a),
        Command::Flood(a) => porttune::flood::cli::run(a),
        Command::Plan(a) => porttune::apply::cli::run_plan(a),
        Command::Apply(a) => porttune::apply::cli::run_apply(a),
        Command::Rollback(a) => porttune::apply::cli::run_rollback(a),
        Command::Profiles(a) => porttune::apply::cli::run_profiles(a),
        Command::Doctor(a) => porttune::commands::doctor::run(a),
        Command::Completions(a) => {
            // Generated into memory: clap_complete panics when its writer fails.
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut buf = Vec::new();
            clap_complete::generate(a.shell, &mut cmd, "porttune", &mut buf);
            porttune::out::write_bytes(&buf);
            Ok(exit::OK)
        }
        Command::Man(a) => porttune::commands::man::run(a),
    };
    let code = match res {
        Ok(code) => code,
        Err(e) => {
            porttune::errln!("porttune: error: {e}");
            e.exit_code()
        }
    };
    let code = porttune::out::exit_status(code, porttune::out::finish());
    std::process::exit(if (0..=3).contains(&code) || code == exit::INTERRUPTED {
        code
    } else {
        exit::INTERNAL
    });
}
