//! `fanout`: manage the fan-out mappings and the event-source mappings;
//! see `fanout::cli`. AWS settings come from the environment
//! (`AWS_PROFILE`, `AWS_REGION`, `AWS_ENDPOINT_URL`, …).

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let conf = aws_config::load_from_env().await;
    match fanout::cli::run(&conf, &args).await {
        Ok(out) => {
            print!("{out}");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("fanout: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
