//! The command line as clap sees it: raw arguments only. `new` turns them into answers
//! (`crate::answers`) and every value then passes the same validators as a typed answer.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

const EXIT_CODES: &str = "Exit codes:\n  0  success\n  1  findings, or a check on the result failed\n  2  usage, input or I/O error";

#[derive(Debug, Parser)]
#[command(name = "plugsmith", version, about, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate a complete, secure plugin project.
    #[command(after_help = NEW_HELP)]
    New(Box<NewArgs>),
    /// Show the stacks and auth modes `new` can generate, and where each stack comes from.
    List {
        /// Also load the stack folder DIR (as `new --stack-dir` does).
        #[arg(long, value_name = "DIR", conflicts_with = "stack_git")]
        stack_dir: Option<PathBuf>,
        /// Also load the stack of a git repository (as `new --stack-git` does).
        #[arg(long, value_name = "URL")]
        stack_git: Option<String>,
    },
    /// Print a shell completion script.
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Scan a plugin project for exposed secrets and insecure configuration.
    // The exit codes and notes in its help are `AuditArgs`' own `after_help`.
    Audit(crate::audit::AuditArgs),
    /// Bring a generated project up to date with its plugsmith.toml and this plugsmith,
    /// keeping your changes (a three-way merge).
    #[command(after_help = crate::update::UPDATE_HELP)]
    Update(crate::update::UpdateArgs),
    /// Add an item to a list answer of plugsmith.toml (an endpoint, …), then update.
    #[command(after_help = crate::update::ADD_HELP)]
    Add(crate::update::AddArgs),
}

const NEW_HELP: &str = "Answers are taken, first to last, from: flags, --set, --answers FILE, \
defaults (with --yes), and prompts (only when stdin and stderr are terminals). Without a terminal \
nothing is asked: every missing answer is named and the command exits 2.\n\n\
Examples:\n  plugsmith new todo-plugin\n  plugsmith new todo-plugin --answers plugin.toml\n  \
plugsmith new todo-plugin --auth service_http --endpoint 'GET /todos List the todos' --yes\n\n\
Exit codes:\n  0  the project was generated\n  1  the project was generated but a check on it failed\n  \
2  usage, input or I/O error (nothing was written)\n  130  interrupted at a prompt (nothing was written)";

/// Arguments of `plugsmith new`.
#[derive(Debug, Args, Default)]
pub struct NewArgs {
    /// Directory to create (its last component also names the project).
    pub target: PathBuf,

    /// Read answers from a TOML file.
    #[arg(long, value_name = "FILE")]
    pub answers: Option<PathBuf>,

    /// Set any answer, e.g. `--set auth=user_http` (lists: comma-separated).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,

    /// Take the default for every answer not given; never prompt.
    #[arg(short = 'y', long)]
    pub yes: bool,

    /// Write into a non-empty directory: files plugsmith does not generate are left alone, an
    /// existing .env and .gitignore are kept (missing keys and lines appended).
    #[arg(long)]
    pub force: bool,

    /// Print what would be written and write nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Load a stack from a folder (`stack.toml` and `files/`, like a folder of templates/) and
    /// use it unless `--stack` names another.
    #[arg(long, value_name = "DIR", conflicts_with = "stack_git")]
    pub stack_dir: Option<PathBuf>,

    /// Load a stack from a git repository on this machine (a path or file:// URL; a stack
    /// folder at its root), fetched into plugsmith's cache and pinned by commit in
    /// plugsmith.toml; used unless `--stack` names another.
    #[arg(long, value_name = "URL")]
    pub stack_git: Option<String>,

    /// The commit, branch or tag of `--stack-git` to use (default: the repository's HEAD).
    #[arg(long, value_name = "REV", requires = "stack_git")]
    pub stack_commit: Option<String>,

    /// Do not initialise a git repository.
    #[arg(long, overrides_with = "git")]
    pub no_git: bool,

    /// The answers, each also an answers-file key and a `--set` key.
    #[command(flatten)]
    pub answer: crate::answers::Answers,
}
