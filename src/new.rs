//! `plugsmith new`: answers → validated plugin → rendered files → atomic write → git.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use crate::answers::{Given, Resolver};
use crate::cli::NewArgs;
use crate::error::{Error, Result};
use crate::model::Plugin;
use crate::writer::{self, Target};
use crate::{baseline, git, keep, prompt, render, secrets, stack, validate};

pub fn run(args: &NewArgs) -> Result<ExitCode> {
    let dir = target_name(&args.target)?;
    let given = Given::from_args(args)?;
    let interactive =
        !args.yes && std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if interactive {
        prompt::handle_interrupts();
    }
    let mut terminal = prompt::Terminal::new();
    let asker: Option<&mut dyn crate::answers::Asker> = if interactive {
        Some(&mut terminal)
    } else {
        None
    };
    let plugin = Resolver::new(given, args.yes, asker).resolve(&dir)?;
    prompt::writing_begins(); // nothing is asked from here on

    // Everything that can fail is settled before a line of the plan is printed.
    let mut project = render::render(&plugin, &mut secrets::generate)?;
    baseline::stamp(&mut project, &baseline::Recorded::now(&plugin))?;
    let state = writer::inspect(&args.target, args.force)?;
    let kept = match state {
        Target::Existing => keep::merge_existing(&args.target, &mut project)?,
        Target::Fresh => Vec::new(),
    };
    let plan = writer::plan(&args.target, &project.files, args.force, kept)?;
    let git_plan = git::plan(&args.target, plugin.git)?;
    let staging = match args.dry_run {
        true => None,
        false => Some(writer::Staging::new(&args.target, plan.target)?),
    };

    let mut err = std::io::stderr().lock();
    // The audit reads only what is on disk: a spec the server builds from its routes it never sees.
    let spec_file = project
        .files
        .iter()
        .any(|f| f.path == crate::surface::action::SPEC_PATH);
    for w in validate::warnings(&plugin, spec_file) {
        let _ = writeln!(err, "{w}");
    }
    drop(err);
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
    let _ = writeln!(out, "{}", git_line(&git_plan, &args.target));
    let Some(staging) = staging else {
        let _ = writeln!(out, "Dry run: nothing was written.");
        return Ok(ExitCode::SUCCESS);
    };
    drop(out);

    let fresh = plan.target == Target::Fresh;
    let had_git = args.target.join(".git").exists();
    let mut commit = None;
    let paths: Vec<&str> = project.files.iter().map(|f| f.path.as_str()).collect();
    writer::write(staging, &args.target, &project.files, &plan, |root| {
        if git_plan != git::Plan::Init {
            return Ok(());
        }
        match git::init_and_commit(root, &args.target, &paths, &project.secrets) {
            Err(e) if !fresh && !had_git => {
                // Take back the repository we just made; the files stay, they are complete.
                let _ = std::fs::remove_dir_all(root.join(".git"));
                Err(e)
            }
            Err(e) => Err(e),
            Ok(c) => {
                commit = Some(c);
                baseline::record_new(root, &project, &args.target).map(|_| ())
            }
        }
    })?;
    if let git::Plan::Inside { .. } = git_plan {
        baseline::record_inside(&args.target, &project);
    }
    print_next_steps(&plugin, &args.target);
    print_git_notes(&git_plan, commit.as_ref(), &args.target);
    Ok(ExitCode::SUCCESS)
}

/// What the plan says git will do.
fn git_line(plan: &git::Plan, target: &Path) -> String {
    match plan {
        git::Plan::Off => "  git          none (--no-git)".to_string(),
        git::Plan::Init => {
            "  git          a new repository, first commit of the generated files only".to_string()
        }
        git::Plan::Inside { root } if same_dir(root, target) => format!(
            "  git          none: `{}` is already a git repository; nothing is committed",
            target.display()
        ),
        git::Plan::Inside { root } => format!(
            "  git          none: inside the work tree of `{}`, so no repository of its own (as `cargo new` does); nothing is committed",
            root.display()
        ),
    }
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

fn print_git_notes(plan: &git::Plan, commit: Option<&git::Commit>, target: &Path) {
    let mut out = std::io::stdout().lock();
    match (plan, commit) {
        (git::Plan::Off, _) => {
            let _ = writeln!(out, "note: no git repository was created (--no-git); .gitignore already keeps .env out of one.");
        }
        (git::Plan::Init, Some(c)) if !c.untracked.is_empty() => {
            let _ = writeln!(
                out,
                "note: the first commit holds only the files plugsmith generated; yours stay as they were, untracked: {}",
                c.untracked.join(", ")
            );
        }
        (git::Plan::Inside { root }, _) => {
            let inner = !same_dir(root, target);
            let env = target.join(render::ENV_FILE);
            match git::is_ignored(root, &env) {
                Ok(true) if inner => {
                    let _ = writeln!(
                        out,
                        "note: `{}` is inside the git repository at `{}`: no repository was made for it and nothing was committed; that repository ignores its .env. For a repository of its own: git init `{}`",
                        target.display(),
                        root.display(),
                        target.display()
                    );
                }
                Ok(true) => {
                    let _ = writeln!(
                        out,
                        "note: `{}` is already a git repository: nothing was committed",
                        target.display()
                    );
                }
                _ => {
                    let _ = writeln!(
                        out,
                        "warning: the git repository at `{}` does not ignore `{}`: add `.env` to its .gitignore before the next commit",
                        root.display(),
                        env.display()
                    );
                }
            }
        }
        _ => {}
    }
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

fn print_next_steps(p: &Plugin, target: &Path) {
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
    for step in stack.next_steps_for(stack::Variant::of(p)) {
        let _ = writeln!(out, "  {step}");
    }
}
