fn main() -> std::process::ExitCode {
    inmail::cli::main()
}
