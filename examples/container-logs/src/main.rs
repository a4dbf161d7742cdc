//! Run with `cargo run -p example-container-logs -- --group my-group
//! --stream-prefix app --container-name web --task-id local -- my-command args`.

use clap::Parser;

fn main() {
    let args = container_logs::Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("awslogs-ship: {e}");
            std::process::exit(1);
        }
    };
    let code = runtime.block_on(container_logs::run(args));
    // Do not wait for a blocked stdin read: exit with the command's status.
    runtime.shutdown_background();
    std::process::exit(code);
}
