//! `plugsmith audit`: scans a plugin project for exposed secrets and insecure configuration.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::error::Error;

/// Arguments of `plugsmith audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The project to scan.
    #[arg(default_value = ".")]
    pub path: PathBuf,
}

pub fn run(_args: &AuditArgs) -> Result<ExitCode, Error> {
    Err(Error::usage("`plugsmith audit` is not built yet"))
}
