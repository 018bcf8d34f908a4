//! `burgernet`: the one binary of the Burgernet backend.

mod admin;
mod bench;
mod dev;
mod local_providers;
mod logging;
mod serve;
mod shutdown;

use burgernet_core::config::{LogConfig, LogFormat};
use burgernet_core::env::Env;
use clap::{Parser, Subcommand};

/// Burgernet: the police control rooms alert participating citizens in an area.
///
/// Configuration comes from environment variables only; see the README for the list.
#[derive(Debug, Parser)]
#[command(name = "burgernet", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the HTTP API.
    Serve,
    /// Run background workers (fan-out, delivery, media processing).
    Work,
    /// Apply pending database migrations, then exit.
    Migrate,
    /// Run everything locally: own PostgreSQL, API and workers, stand-ins for push, SMS, e-mail.
    Dev,
    /// Operator tasks: regions, municipalities, tokens, the contract.
    Admin {
        #[command(subcommand)]
        command: admin::AdminCommand,
    },
    /// Benchmarks with fixed, printed output; they start their own PostgreSQL like `dev`.
    Bench {
        #[command(subcommand)]
        command: bench::BenchCommand,
    },
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    if let Err(error) = run(cli.command).await {
        eprintln!("burgernet: {error:#}");
        std::process::exit(1);
    }
}

async fn run(command: Command) -> anyhow::Result<()> {
    let mut env = Env::from_process();
    if matches!(command, Command::Bench { .. }) {
        // The benchmark's output is its one line; the log keeps to what went wrong.
        env = env.with_default("BURGERNET_LOG", "warn");
    }
    let default_format = match command {
        Command::Dev | Command::Admin { .. } | Command::Bench { .. } => LogFormat::Pretty,
        _ => LogFormat::Json,
    };
    logging::init(&LogConfig::from_env(&env, default_format)?)?;
    match command {
        Command::Serve => serve::serve(&env).await,
        Command::Work => serve::work(&env).await,
        Command::Migrate => serve::migrate(&env).await,
        Command::Dev => dev::run(env).await,
        Command::Admin { command } => admin::run(command, &env).await,
        Command::Bench { command } => bench::run(command, env).await,
    }
}
