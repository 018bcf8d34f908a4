//! `burgernet`: the one binary of the Burgernet backend.

mod admin;
#[cfg(feature = "local")]
mod bench;
#[cfg(feature = "local")]
mod dev;
#[cfg(feature = "local")]
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
    #[cfg(feature = "local")]
    Dev,
    /// Run everything locally (not in this build: it has no local mode).
    #[cfg(not(feature = "local"))]
    Dev,
    /// Operator tasks: regions, municipalities, tokens, the contract.
    Admin {
        #[command(subcommand)]
        command: admin::AdminCommand,
    },
    /// Benchmarks with fixed, printed output; they start their own PostgreSQL like `dev`.
    #[cfg(feature = "local")]
    Bench {
        #[command(subcommand)]
        command: bench::BenchCommand,
    },
    /// Benchmarks (not in this build: it has no local mode).
    #[cfg(not(feature = "local"))]
    Bench {
        /// Whatever the benchmark would have taken; this build refuses it.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
        arguments: Vec<String>,
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
        #[cfg(feature = "local")]
        Command::Dev => dev::run(env).await,
        #[cfg(not(feature = "local"))]
        Command::Dev => Err(no_local_mode("dev")),
        Command::Admin { command } => admin::run(command, &env).await,
        #[cfg(feature = "local")]
        Command::Bench { command } => bench::run(command, env).await,
        #[cfg(not(feature = "local"))]
        Command::Bench { .. } => Err(no_local_mode("bench")),
    }
}

/// The answer of the local-mode commands in a build without the `local` feature (the container
/// image): they parse, so the operator learns why they do nothing.
#[cfg(not(feature = "local"))]
fn no_local_mode(command: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "`burgernet {command}` is not in this build: it has no local mode (built without the `local` \
         feature, as the container image is)"
    )
}
