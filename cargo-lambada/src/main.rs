//! `cargo lambada`: build, inspect, package, deploy, serve and invoke Lambada apps.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod auth;
mod build;
mod config;
mod deploy;
mod emulator;
mod invoke;
mod manifest;
mod new;
mod openapi;
mod package;
mod serve;

#[derive(Parser, Debug)]
#[command(name = "cargo", bin_name = "cargo")]
enum Cli {
    /// Build, inspect, package, deploy, serve and invoke Lambada apps.
    Lambada(Args),
}

#[derive(clap::Args, Debug)]
#[command(version, about)]
struct Args {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Build the function's `bootstrap` into target/lambada/<function>/bootstrap.zip.
    Build(build::BuildArgs),
    /// Print the route table of the built binary.
    Routes(manifest::RoutesArgs),
    /// Write the OpenAPI document and the CloudFormation template of the app.
    Package(package::PackageArgs),
    /// Print the app's OpenAPI 3.1 document, from its handlers' types.
    Openapi(openapi::OpenapiArgs),
    /// Build, upload and create or update the functions, the front door (REST API, HTTP API, function URL) and the triggers.
    Deploy(deploy::DeployArgs),
    /// Delete what `deploy` created (found by tags), and nothing else.
    Remove(deploy::RemoveArgs),
    /// Serve the app on localhost through the Lambda Runtime API emulator.
    Serve(serve::ServeArgs),
    /// Send one event through the emulator to the bootstrap and print the response.
    Invoke(Box<invoke::InvokeArgs>),
    /// Create a new Lambada project from the built-in template.
    New(new::NewArgs),
}

fn main() -> ExitCode {
    let Cli::Lambada(args) = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result: Result<(), Box<dyn std::error::Error>> = runtime.block_on(async move {
        match args.command {
            Cmd::Build(a) => build::run(a).await.map(|_| ()).map_err(Into::into),
            Cmd::Routes(a) => manifest::run(a).await.map_err(Into::into),
            Cmd::Package(a) => package::run(a).await.map_err(Into::into),
            Cmd::Openapi(a) => openapi::run(a).await.map_err(Into::into),
            Cmd::Deploy(a) => deploy::run(a).await.map_err(Into::into),
            Cmd::Remove(a) => deploy::remove(a).await.map_err(Into::into),
            Cmd::Serve(a) => serve::run(a).await,
            Cmd::Invoke(a) => invoke::run(*a).await,
            Cmd::New(a) => new::run(a).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            let mut shown = e.to_string();
            let mut source = e.source();
            while let Some(s) = source {
                // Skip causes the message above already includes.
                let text = s.to_string();
                if !shown.contains(&text) {
                    eprintln!("  caused by: {text}");
                    shown.push_str(&text);
                }
                source = s.source();
            }
            ExitCode::FAILURE
        }
    }
}
