use std::process::ExitCode;

fn main() -> ExitCode {
    complaintflow::cli::main()
}
