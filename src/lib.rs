//! plugsmith: bootstraps secure plugin projects for AI assistants and audits existing ones.
//!
//! Data flows one way: answers (flags, `--set`, answers file, defaults, prompts) → one validated
//! [`model::Plugin`] → an in-memory list of files ([`render`]) → an atomic [`writer`] → [`git`].

pub mod answers;
pub mod audit;
pub mod baseline;
pub mod cli;
pub mod error;
pub mod git;
pub mod hosts;
pub mod keep;
pub mod model;
pub mod new;
pub mod prompt;
pub mod render;
pub mod secrets;
pub mod stack;
pub mod stack_git;
pub mod surface;
pub mod update;
pub mod validate;
pub mod writer;

use std::io::Write;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use crate::cli::{Cli, Command};
use crate::error::Error;

/// Runs the command line and returns the exit code; the only place that prints errors.
pub fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match dispatch(cli.command) {
        Ok(code) => code,
        Err(e) => {
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "error: {e}");
            for line in e.details() {
                let _ = writeln!(err, "{line}");
            }
            ExitCode::from(e.exit_code())
        }
    }
}

fn dispatch(command: Command) -> Result<ExitCode, Error> {
    match command {
        Command::New(args) => new::run(&args),
        Command::List {
            stack_dir,
            stack_git,
        } => {
            if let Some(dir) = stack_dir {
                stack::use_dir(&dir)?;
            }
            if let Some(url) = stack_git {
                stack::use_git(&url, None)?;
            }
            print!("{}", stack::list_text());
            Ok(ExitCode::SUCCESS)
        }
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "plugsmith",
                &mut std::io::stdout(),
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit(args) => audit::run(&args),
        Command::Update(args) => update::run(&args),
        Command::Add(args) => update::run_add(&args),
    }
}
