//! The `crossdock` binary: parses the command line, runs the command, prints
//! the error chain and exits with a distinct code (see `cli::ExitCode`).

mod cli;

fn main() {
    std::process::exit(cli::main());
}
