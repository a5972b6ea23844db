/// mimalloc: analysis allocates and frees many small strings per message on several threads,
/// where glibc's malloc spent a tenth of all instructions.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    inmail::cli::main()
}
