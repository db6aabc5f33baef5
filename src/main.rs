use clap::Parser;
fn main() {
    let _cli = porttune::cli::Cli::parse();
}
