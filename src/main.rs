use std::process::ExitCode;

use token_service::config::Config;

fn main() -> ExitCode {
    // Configuration comes first, before any thread starts, because loading `.env` sets
    // environment variables of this process.
    let config = match Config::load() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };

    token_service::telemetry::init(&config.log_filter, config.log_format);

    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: failed to start the Tokio runtime: {error}");
            return ExitCode::FAILURE;
        }
    };

    match runtime.block_on(token_service::run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "token-service failed to start");
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
