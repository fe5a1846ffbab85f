//! The `meshperf` binary: parses arguments and hands over to [`server::cli::main`].

fn main() {
    std::process::exit(server::cli::main());
}
