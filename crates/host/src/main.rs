//! `opsflow-host`: `build` and `up` for Spin applications, without the Spin CLI.
#![forbid(unsafe_code)]

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use opsflow_host::{Faults, UpOptions, build, manifest};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "opsflow-host",
    version,
    about = "Run Spin applications locally on wasmtime"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run each component's build command.
    Build {
        /// The application manifest.
        #[arg(short = 'f', long = "from", default_value = "spin.toml")]
        file: PathBuf,
        /// Build only these components.
        #[arg(short = 'c', long = "component-id")]
        component_ids: Vec<String>,
    },
    /// Serve the application.
    Up {
        /// The application manifest.
        #[arg(short = 'f', long = "from", default_value = "spin.toml")]
        file: PathBuf,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:3000")]
        listen: SocketAddr,
        /// State directory (default: `.spin` beside the manifest).
        #[arg(long)]
        state_dir: Option<PathBuf>,
        /// Runtime config file.
        #[arg(long)]
        runtime_config_file: Option<PathBuf>,
        /// Build the components first.
        #[arg(long)]
        build: bool,
        /// Environment variable for every component (K=V).
        #[arg(short = 'e', long = "env")]
        env: Vec<String>,
        /// Application variable (NAME=VALUE).
        #[arg(long = "variable")]
        variables: Vec<String>,
        /// Serve only these components (repeatable); others' triggers are dropped.
        #[arg(short = 'c', long = "component-id")]
        component_ids: Vec<String>,
    },
}

fn pairs(items: &[String], what: &str) -> Result<BTreeMap<String, String>> {
    items
        .iter()
        .map(|i| match i.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => bail!("{what} '{i}' is not NAME=VALUE"),
        })
        .collect()
}

/// Runs the command; a failure is one line on stderr (the error and its causes),
/// with the full report and backtrace only when `RUST_BACKTRACE` asks for them.
#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            if std::env::var_os("RUST_BACKTRACE").is_some_and(|v| v != "0") {
                eprintln!("error: {e:?}");
            } else {
                eprintln!("error: {e:#}");
            }
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Build {
            file,
            component_ids,
        } => {
            let app = manifest::load(&file)?;
            build::build(&app, &component_ids)
        }
        Command::Up {
            file,
            listen,
            state_dir,
            runtime_config_file,
            build: do_build,
            env,
            variables,
            component_ids,
        } => {
            if do_build {
                let app = manifest::load(&file)?;
                build::build(&app, &component_ids)?;
            }
            let faults = match std::env::var("OPSFLOW_HOST_FAULTS") {
                Ok(spec) => Faults::from_spec(&spec).context("OPSFLOW_HOST_FAULTS")?,
                Err(_) => Faults::default(),
            };
            let mut opts = UpOptions::new(file);
            opts.listen = listen;
            opts.state_dir = state_dir;
            opts.runtime_config = runtime_config_file;
            opts.env = pairs(&env, "--env")?;
            opts.variables = pairs(&variables, "--variable")?;
            opts.component_ids = component_ids;
            opts.faults = Arc::new(faults);
            opts.verbose = true;
            let app = opsflow_host::up(opts).await?;
            tokio::signal::ctrl_c().await?;
            println!("Shutting down");
            app.stop().await;
            Ok(())
        }
    }
}
