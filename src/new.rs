//! `plugsmith new`.
use std::process::ExitCode;

use crate::cli::NewArgs;
use crate::error::Error;

pub fn run(_args: &NewArgs) -> Result<ExitCode, Error> {
    Err(Error::usage("`plugsmith new` is not built yet"))
}
