//! `plugsmith new`: answers → validated plugin → rendered files → atomic write → git.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use crate::answers::{Given, Resolver};
use crate::cli::NewArgs;
use crate::error::{Error, Result};
use crate::model::{AuthMode, Plugin};
use crate::writer::{self, Target};
use crate::{git, prompt, render, secrets, stack, validate};

pub fn run(args: &NewArgs) -> Result<ExitCode> {
    let dir = target_name(&args.target)?;
    let given = Given::from_args(args)?;
    let interactive =
        !args.yes && std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let mut terminal = prompt::Terminal::new();
    let asker: Option<&mut dyn crate::answers::Asker> = if interactive {
        Some(&mut terminal)
    } else {
        None
    };
    let plugin = Resolver::new(given, args.yes, asker).resolve(&dir)?;
    let mut err = std::io::stderr().lock();
    for w in validate::domain_warnings(
        &plugin.base_url,
        &plugin.legal_info_url,
        &plugin.contact_email,
    ) {
        let _ = writeln!(err, "warning: {w}");
    }
    drop(err);

    let project = render::render(&plugin, &mut secrets::generate)?;
    let plan = writer::plan(&args.target, &project.files, args.force)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock()); // one write, not one a line
    let verb = if args.dry_run {
        "Would write"
    } else {
        "Writing"
    };
    let _ = writeln!(
        out,
        "{verb} `{}` ({} files):",
        args.target.display(),
        project.files.len()
    );
    for line in plan.lines() {
        let _ = writeln!(out, "{line}");
    }
    if args.dry_run {
        let _ = writeln!(out, "Dry run: nothing was written.");
        return Ok(ExitCode::SUCCESS);
    }
    drop(out);

    let fresh = plan.target == Target::Fresh;
    let mut git_note = None;
    writer::write(&args.target, &project.files, &plan, |root| {
        if !plugin.git {
            return Ok(());
        }
        if !fresh && git::is_repository(root) {
            git_note = Some("the directory is already in a git repository: nothing was committed");
            return Ok(());
        }
        match git::init_and_commit(root, &project.secrets) {
            Err(e) if !fresh => {
                // Take back the repository we just made; the files stay, they are complete.
                let _ = std::fs::remove_dir_all(root.join(".git"));
                Err(e)
            }
            other => other.map(|_| ()),
        }
    })?;
    print_next_steps(&plugin, &args.target, git_note);
    Ok(ExitCode::SUCCESS)
}

/// The target's last component, checked: it names the project.
fn target_name(target: &Path) -> Result<String> {
    let name = target
        .file_name()
        .and_then(|n| n.to_str())
        .map(str::to_string)
        .unwrap_or_default();
    validate::target_dir_name(&name).map_err(|rule| {
        Error::usage(format!(
            "target directory `{}`: its name {rule}",
            target.display()
        ))
    })?;
    Ok(name)
}

fn print_next_steps(p: &Plugin, target: &Path, git_note: Option<&str>) {
    let stack = stack::find(&p.stack).expect("validated stack");
    let mut out = std::io::BufWriter::new(std::io::stdout().lock()); // one write, not one a line
    let _ = writeln!(out, "\nDone. Next:");
    let _ = writeln!(
        out,
        "  cd {}",
        render::filters::shell_word(&target.display().to_string())
    );
    for cmd in &stack.test_commands {
        let _ = writeln!(out, "  {cmd}");
    }
    let _ = writeln!(
        out,
        "  .venv/bin/python -m app   # serves on http://127.0.0.1:8000"
    );
    match p.auth {
        AuthMode::ServiceHttp => {
            let _ = writeln!(
                out,
                "Your service token is SERVICE_TOKEN in .env: paste it into the ChatGPT plugin UI (or the GPT Action editor), never into a file."
            );
        }
        AuthMode::UserHttp => {
            let _ = writeln!(
                out,
                "Issue a user's API key with: python -m app.manage issue-key USER"
            );
        }
        AuthMode::Oauth => {
            let _ = writeln!(
                out,
                "Create a user with: python -m app.manage create-user NAME; README.md explains the ChatGPT side."
            );
        }
        AuthMode::None => {}
    }
    if let Some(note) = git_note {
        let _ = writeln!(out, "note: {note}");
    }
    if !p.git {
        let _ = writeln!(out, "note: no git repository was created (--no-git); .gitignore already keeps .env out of one.");
    }
}
