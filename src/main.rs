/// mimalloc (see `inmail::alloc`).
#[global_allocator]
static GLOBAL: inmail::alloc::MiMalloc = inmail::alloc::MiMalloc;

fn main() -> std::process::ExitCode {
    inmail::cli::main()
}
