use clap::Parser;

/// Print clap's error, help or version through porttune's terminal-safe writers (an argument
/// echoed in an error cannot drive the terminal) and return its exit code.
fn usage(e: &clap::Error) -> i32 {
    use std::io::IsTerminal;
    let tty = if e.use_stderr() {
        std::io::stderr().is_terminal()
    } else {
        std::io::stdout().is_terminal()
    };
    let colour = porttune::render::use_colour(tty);
    colored::control::set_override(colour);
    let text = if colour {
        e.render().ansi().to_string()
    } else {
        e.render().to_string()
    };
    if e.use_stderr() {
        porttune::err!("{text}");
    } else {
        porttune::out!("{text}");
    }
    porttune::out::exit_status(e.exit_code(), porttune::out::finish())
}
use porttune::cli::{Cli, Command};
use porttune::commands;
use porttune::error::exit;

fn main() {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => std::process::exit(usage(&e)),
    };
    colored::control::set_override(porttune::render::use_colour(
        std::io::IsTerminal::is_terminal(&std::io::stdout()),
    ));
    let res = match &cli.command {
        Command::Check(a) => commands::check::run(a),
        Command::Explain(a) => commands::explain::run(a),
        Command::Flood(a) => commands::flood::run(a),
        Command::Plan(a) => commands::plan::run(a),
        Command::Apply(a) => commands::apply::run(a),
        Command::Rollback(a) => commands::rollback::run(a),
        Command::Status(a) => commands::status::run(a),
        Command::Profiles(a) => commands::profiles::run(a),
        Command::Doctor(a) => commands::doctor::run(a),
        Command::Completions(a) => commands::completions::run(a),
        Command::Schema(a) => commands::schema::run(a),
        Command::Man(a) => commands::man::run(a),
    };
    let code = match res {
        Ok(code) => code,
        Err(e) => {
            // On a terminal the message is folded at its width; piped, it stays one line.
            let msg = format!("porttune: error: {e}");
            match porttune::render::wrap::stderr_width() {
                Some(w) => porttune::err!("{}", porttune::render::wrap::wrap_message(&msg, w)),
                None => porttune::errln!("{msg}"),
            }
            e.exit_code()
        }
    };
    let code = porttune::out::exit_status(code, porttune::out::finish());
    std::process::exit(
        if (0..=exit::CANNOT_TELL).contains(&code) || code == exit::INTERRUPTED {
            code
        } else {
            exit::INTERNAL
        },
    );
}
