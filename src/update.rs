//! `plugsmith update` and `plugsmith add`: bring a generated project up to date with its
//! `plugsmith.toml` and with the running plugsmith, keeping the user's work.
//!
//! The project is rendered anew and merged three ways, file by file, with libgit2: the baseline
//! (what plugsmith generated last, [`crate::baseline`]) is the ancestor, the files on disk are
//! ours, the new render is theirs. Everything is decided in memory first (the merges run in an
//! in-memory object database); then the files are written through the same staging directory
//! and renames as `new`, and the new render becomes the baseline only when nothing conflicts.
//! `.env` is never rendered over: it is kept byte for byte, missing keys appended.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use git2::{FileFavor, MergeFileOptions, Oid, Repository};

use crate::answers::{self, Answers, Given, Resolver};
use crate::baseline::{self, Blob, Files, Location, Recorded, ANSWERS_FILE, VERSION};
use crate::cli::NewArgs;
use crate::error::{Error, Result};
use crate::model::Plugin;
use crate::render::{self, GeneratedFile, ENV_FILE};
use crate::writer::{self, Change, Target};
use crate::{keep, secrets};

/// How a file changed on both sides in the same place is left for the user.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum ConflictStyle {
    /// Standard conflict markers in the file (`<<<<<<< yours`, `=======`, `>>>>>>> plugsmith`).
    #[default]
    Markers,
    /// The file keeps your side; the change plugsmith could not apply goes to `FILE.rej`, a patch.
    Rej,
}

/// Arguments of `plugsmith update` (and of the update `add` runs).
#[derive(Debug, Clone, Default, Args)]
pub struct UpdateArgs {
    /// The project's folder.
    #[arg(short = 'C', long = "project", value_name = "DIR", default_value = ".")]
    pub project: PathBuf,

    /// Print what would change (files changed cleanly, conflicts, new files) and write nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Run with uncommitted changes in the project: the files update changes are first saved
    /// in a commit (on a ref of plugsmith's), and your changes are merged like committed ones.
    #[arg(long)]
    pub allow_dirty: bool,

    /// How conflicts are left: `markers` in the file, or a `.rej` patch beside it.
    #[arg(long, value_enum, value_name = "STYLE", default_value_t = ConflictStyle::Markers)]
    pub conflict: ConflictStyle,

    /// For a project without a baseline: render it from the answers in plugsmith.toml (only
    /// when plugsmith.toml records the running plugsmith's version).
    #[arg(long, conflicts_with = "baseline")]
    pub baseline_from_answers: bool,

    /// Use this commit's files as the baseline (the project as plugsmith generated it, e.g. its
    /// first commit).
    #[arg(long, value_name = "COMMIT")]
    pub baseline: Option<String>,

    /// Load the stack from this folder instead of the one plugsmith.toml records.
    #[arg(long, value_name = "DIR", conflicts_with = "stack_git")]
    pub stack_dir: Option<PathBuf>,

    /// Fetch the stack from this git repository instead of the one plugsmith.toml records.
    #[arg(long, value_name = "URL")]
    pub stack_git: Option<String>,

    /// For a stack from git: update to this revision (default: the commit plugsmith.toml
    /// records, so the templates change only when you ask).
    #[arg(long, value_name = "REV")]
    pub stack_commit: Option<String>,

    /// Undo an update that stopped on conflicts: every file it wrote back as it was before
    /// (the ones it created removed), the baseline unchanged. With `--allow-dirty`, files
    /// changed since that update are first saved in a commit.
    #[arg(
        long,
        conflicts_with_all = ["conflict", "baseline", "baseline_from_answers", "stack_dir", "stack_git", "stack_commit"]
    )]
    pub abort: bool,
}

/// Arguments of `plugsmith add`.
#[derive(Debug, Clone, Args)]
pub struct AddArgs {
    /// What to add: an item of a list answer, named in the singular (`endpoint`, `surface`,
    /// `scope`, `redirect-uri`).
    pub what: String,
    /// The item, as its flag of `new` takes it: `'POST /notes Add a note'` for an endpoint.
    pub value: String,
    #[command(flatten)]
    pub update: UpdateArgs,
}

pub const UPDATE_HELP: &str = "Renders the project again from plugsmith.toml with this \
plugsmith and merges three ways: what plugsmith generated last (the baseline) is the ancestor, \
your files are yours, the new render is plugsmith's. .env is never regenerated (missing keys are \
appended); files you added are never touched; files you deleted stay deleted unless plugsmith \
changed them too.\n\n\
Examples:\n  plugsmith update --dry-run\n  plugsmith update\n  plugsmith update --conflict rej\n  \
plugsmith update --abort\n\n\
Exit codes:\n  0  updated (or nothing to do)\n  1  conflicts: every one is listed; resolve them, \
commit, and run update again to record the new baseline (or `plugsmith update --abort` puts \
every file it wrote back as it was)\n  2  usage, input or I/O error \
(nothing was written)";

pub const ADD_HELP: &str = "Validates the item as `new` does, adds it to plugsmith.toml, then \
updates the project (as `plugsmith update` does, with the same options).\n\n\
Examples:\n  plugsmith add endpoint 'POST /notes Add a note'\n  plugsmith add surface plugin\n  \
plugsmith add scope admin\n\n\
Exit codes:\n  0  added and updated\n  1  conflicts (listed)\n  2  usage, input or I/O error \
(nothing was written)";

pub fn run(args: &UpdateArgs) -> Result<ExitCode> {
    if args.abort {
        return abort(args);
    }
    update(args, Answers::default())
}

pub fn run_add(args: &AddArgs) -> Result<ExitCode> {
    if args.update.abort {
        return Err(Error::usage_hint(
            "`--abort` is not an option of `plugsmith add`",
            "`plugsmith update --abort` undoes an update that stopped on conflicts",
        ));
    }
    let dir = project_dir(&args.update.project)?;
    let file = answers::read_answers_file(&dir.join(ANSWERS_FILE))?;
    let added = add_item(&file, &args.what, &args.value)?;
    update(&args.update, added)
}

/// The project folder, resolved, with its `plugsmith.toml`.
fn project_dir(dir: &Path) -> Result<PathBuf> {
    let canon = dir
        .canonicalize()
        .map_err(|e| Error::io("cannot open the project folder", dir, e))?;
    if !canon.join(ANSWERS_FILE).is_file() {
        return Err(Error::usage_hint(
            format!(
                "`{}` is not a project plugsmith generated: it has no {ANSWERS_FILE}",
                dir.display()
            ),
            "run it in the project's folder, or pass `-C DIR`",
        ));
    }
    Ok(canon)
}

/// Every answer key that holds a list, by the singular `add` names it with (`endpoint`).
fn list_keys() -> Vec<(String, &'static str)> {
    answers::known_keys()
        .filter(|k| {
            serde_json::from_value::<Answers>(serde_json::json!({ *k: [] })).is_ok()
                && k.ends_with('s')
        })
        .map(|k| (k[..k.len() - 1].replace('_', "-"), k))
        .collect()
}

/// The answers that add `value` to the list answer `what` names: the whole list, the file's
/// items and the new one, as a flag of `new` would give it (so it is parsed and validated the
/// same way, and named the same way in errors).
fn add_item(file: &Answers, what: &str, value: &str) -> Result<Answers> {
    use clap::{Args as _, FromArgMatches as _};
    let keys = list_keys();
    let Some((_, key)) = keys.iter().find(|(name, _)| name == what) else {
        return Err(Error::usage_hint(
            format!("`add {what}`: no list answer is called `{what}`"),
            format!(
                "plugsmith add takes one of: {}",
                keys.iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    };
    // `new`'s own arguments: the same parser, the same error.
    let command = NewArgs::augment_args(clap::Command::new("add").no_binary_name(true));
    let flag = command
        .get_arguments()
        .find(|a| a.get_id() == *key)
        .and_then(|a| a.get_long())
        .ok_or_else(|| Error::Internal(format!("answer `{key}` has no flag")))?
        .to_string();
    let matches = command
        .try_get_matches_from([
            "project".to_string(),
            format!("--{flag}"),
            value.to_string(),
        ])
        .map_err(|e| {
            let text = e.render().to_string();
            let first = text.lines().next().unwrap_or_default();
            Error::usage(first.strip_prefix("error: ").unwrap_or(first).to_string())
        })?;
    let item = NewArgs::from_arg_matches(&matches)
        .map_err(|e| Error::usage(e.to_string()))?
        .answer;
    let value_of = |a: &Answers| {
        serde_json::to_value(a)
            .ok()
            .and_then(|v| v.get(*key).cloned())
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default()
    };
    let mut list = value_of(file);
    for new in value_of(&item) {
        if list.contains(&new) {
            return Err(Error::usage(format!(
                "`add {what}`: {value:?} is already in {ANSWERS_FILE}"
            )));
        }
        list.push(new);
    }
    serde_json::from_value(serde_json::json!({ *key: list }))
        .map_err(|e| Error::Internal(format!("answers: {e}")))
}

/// Where the stack of an update comes from: the options, else what plugsmith.toml records.
#[derive(Debug, Clone, Default)]
struct StackSource {
    dir: Option<PathBuf>,
    git: Option<String>,
    commit: Option<String>,
}

impl StackSource {
    fn of(args: &UpdateArgs, recorded: Option<&Recorded>) -> StackSource {
        let rec = |f: fn(&Recorded) -> Option<&String>| recorded.and_then(f).cloned();
        if args.stack_dir.is_some() {
            return StackSource {
                dir: args.stack_dir.clone(),
                ..StackSource::default()
            };
        }
        let git = args
            .stack_git
            .clone()
            .or_else(|| rec(|r| r.stack_git.as_ref()));
        if git.is_some() {
            // The recorded commit goes with the recorded repository only.
            let recorded_git = args.stack_git.is_none();
            let commit = args.stack_commit.clone().or_else(|| {
                recorded_git
                    .then(|| rec(|r| r.stack_commit.as_ref()))
                    .flatten()
            });
            return StackSource {
                git,
                commit,
                ..StackSource::default()
            };
        }
        StackSource {
            dir: rec(|r| r.stack_dir.as_ref()).map(PathBuf::from),
            ..StackSource::default()
        }
    }
}

/// The plugin the answers in `file` (with `extra` over them) describe, resolved as `new`
/// resolves them: every validator, every default for an answer the file lacks.
fn resolve(dir: &Path, stack: &StackSource, extra: Answers, project_name: &str) -> Result<Plugin> {
    let args = NewArgs {
        target: dir.to_path_buf(),
        answers: Some(dir.join(ANSWERS_FILE)),
        yes: true,
        stack_dir: stack.dir.clone(),
        stack_git: stack.git.clone(),
        stack_commit: stack.commit.clone(),
        answer: extra,
        ..NewArgs::default()
    };
    Resolver::new(Given::from_args(&args)?, true, None).resolve(project_name)
}

/// What happens to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
enum What {
    /// You had not changed it: plugsmith's new version.
    Updated,
    /// Both changed it, in different places: merged.
    Merged,
    /// New in this render.
    Created,
    /// No longer generated and unchanged by you: removed.
    Removed,
    /// No longer generated, but you changed it: kept.
    KeptChanged,
    /// A conflict, left as the style says; `aside` is the extra file written for it.
    Conflict {
        how: Conflict,
        aside: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Conflict {
    /// Markers in the file.
    Markers,
    /// The file keeps your side; `FILE.rej` holds plugsmith's change.
    Rej,
    /// One side has no such file (you deleted it, or added your own): plugsmith's version is
    /// written beside it as `FILE.plugsmith-new`.
    Aside,
}

impl Conflict {
    fn as_str(self) -> &'static str {
        match self {
            Conflict::Markers => "markers",
            Conflict::Rej => "rej",
            Conflict::Aside => "aside",
        }
    }
    fn parse(s: &str) -> Option<Conflict> {
        match s {
            "markers" => Some(Conflict::Markers),
            "rej" => Some(Conflict::Rej),
            "aside" => Some(Conflict::Aside),
            _ => None,
        }
    }
}

const ASIDE_SUFFIX: &str = ".plugsmith-new";
const REJ_SUFFIX: &str = ".rej";

/// One planned step: the file, what happens, and the bytes written (for writing steps).
#[derive(Debug)]
struct Step {
    path: String,
    what: What,
    writes: Vec<GeneratedFile>,
}

/// Three-way merges of byte buffers, in an object database held in memory.
struct Merger {
    repo: Repository,
    theirs_label: String,
}

struct Merged {
    clean: bool,
    contents: Vec<u8>,
}

impl Merger {
    fn new() -> Result<Merger> {
        let err = |e: git2::Error| Error::Internal(format!("in-memory repository: {e}"));
        let odb = git2::Odb::new().map_err(err)?;
        odb.add_new_mempack_backend(1).map_err(err)?;
        let repo = Repository::from_odb(odb).map_err(err)?;
        Ok(Merger {
            repo,
            theirs_label: format!("plugsmith {VERSION}"),
        })
    }

    fn entry(&self, path: &str, data: &[u8]) -> Result<git2::IndexEntry> {
        let id = self
            .repo
            .blob(data)
            .map_err(|e| Error::Internal(format!("in-memory blob: {e}")))?;
        let time = git2::IndexTime::new(0, 0);
        Ok(git2::IndexEntry {
            ctime: time,
            mtime: time,
            dev: 0,
            ino: 0,
            mode: 0o100644,
            uid: 0,
            gid: 0,
            file_size: data.len() as u32,
            id,
            flags: path.len().min(0xfff) as u16,
            flags_extended: 0,
            path: path.as_bytes().to_vec(),
        })
    }

    fn merge(
        &self,
        path: &str,
        base: &[u8],
        ours: &[u8],
        theirs: &[u8],
        favor: FileFavor,
    ) -> Result<Merged> {
        let (b, o, t) = (
            self.entry(path, base)?,
            self.entry(path, ours)?,
            self.entry(path, theirs)?,
        );
        let mut opts = MergeFileOptions::new();
        opts.ancestor_label("baseline")
            .our_label("yours")
            .their_label(self.theirs_label.as_str())
            .favor(favor);
        let result = self
            .repo
            .merge_file_from_index(&b, &o, &t, Some(&mut opts))
            .map_err(|e| Error::Internal(format!("merging `{path}`: {e}")))?;
        Ok(Merged {
            clean: result.is_automergeable(),
            contents: result.content().to_vec(),
        })
    }
}

fn is_binary(data: &[u8]) -> bool {
    memchr::memchr(0, data).is_some()
}

/// A file of the project on disk: its bytes and mode; `None` when absent.
fn read_ours(dir: &Path, path: &str) -> Result<Option<Blob>> {
    use std::os::unix::fs::PermissionsExt;
    let full = dir.join(path);
    match std::fs::symlink_metadata(&full) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => Ok(None),
        Err(e) => Err(Error::io("cannot inspect", &full, e)),
        Ok(m) if !m.is_file() => Err(Error::usage(format!(
            "`{}` is not a regular file; plugsmith update will not merge into it",
            full.display()
        ))),
        Ok(m) => Ok(Some(Blob {
            contents: std::fs::read(&full).map_err(|e| Error::io("cannot read", &full, e))?,
            mode: m.permissions().mode() & 0o777,
        })),
    }
}

/// Decides, for every file the baseline or the new render has, what the update does.
fn plan_files(dir: &Path, base: &Files, theirs: &Files, style: ConflictStyle) -> Result<Vec<Step>> {
    let merger = Merger::new()?;
    let paths: BTreeSet<&String> = base.keys().chain(theirs.keys()).collect();
    let mut steps = Vec::new();
    for path in paths {
        let (b, t) = (base.get(path), theirs.get(path));
        if b.map(|b| &b.contents) == t.map(|t| &t.contents) {
            continue; // plugsmith changed nothing here: whatever you did stands
        }
        let ours = read_ours(dir, path)?;
        let o = ours.as_ref();
        let file = |path: &str, contents: Vec<u8>, mode: u32| GeneratedFile {
            path: path.to_string(),
            contents,
            mode,
        };
        let step = |what: What, write: Option<GeneratedFile>| Step {
            path: path.clone(),
            what,
            writes: write.into_iter().collect(),
        };
        let aside = |t: &Blob| {
            let name = format!("{path}{ASIDE_SUFFIX}");
            step(
                What::Conflict {
                    how: Conflict::Aside,
                    aside: Some(name.clone()),
                },
                Some(file(&name, t.contents.clone(), t.mode)),
            )
        };
        let s = match (b, o, t) {
            (_, Some(o), Some(t)) if o.contents == t.contents => continue, // already so
            (None, None, Some(t)) => {
                step(What::Created, Some(file(path, t.contents.clone(), t.mode)))
            }
            (None, Some(_), Some(t)) => aside(t), // a file of yours where plugsmith now has one
            (Some(_), None, None) => continue,    // gone on both sides
            (Some(b), Some(o), None) if o.contents == b.contents => step(What::Removed, None),
            (Some(_), Some(_), None) => step(What::KeptChanged, None),
            (Some(_), None, Some(t)) => aside(t), // you deleted it, plugsmith changed it
            (Some(b), Some(o), Some(t)) if o.contents == b.contents => {
                step(What::Updated, Some(file(path, t.contents.clone(), o.mode)))
            }
            (Some(b), Some(o), Some(t)) => {
                if [&b.contents, &o.contents, &t.contents]
                    .iter()
                    .any(|c| is_binary(c))
                {
                    aside(t)
                } else {
                    let m = merger.merge(
                        path,
                        &b.contents,
                        &o.contents,
                        &t.contents,
                        FileFavor::Normal,
                    )?;
                    if m.clean {
                        step(What::Merged, Some(file(path, m.contents, o.mode)))
                    } else if style == ConflictStyle::Markers {
                        step(
                            What::Conflict {
                                how: Conflict::Markers,
                                aside: None,
                            },
                            Some(file(path, m.contents, o.mode)),
                        )
                    } else {
                        rej_step(&merger, path, b, o, t)?
                    }
                }
            }
            (None, _, None) => continue, // in neither render: not plugsmith's
        };
        steps.push(s);
    }
    Ok(steps)
}

/// A conflict as `--conflict rej` leaves it: the file merged with your side winning each
/// conflict (the rest of plugsmith's change is in it), and `FILE.rej` the patch from that to
/// plugsmith's side winning.
fn rej_step(merger: &Merger, path: &str, b: &Blob, o: &Blob, t: &Blob) -> Result<Step> {
    let mine = merger.merge(path, &b.contents, &o.contents, &t.contents, FileFavor::Ours)?;
    let theirs = merger.merge(
        path,
        &b.contents,
        &o.contents,
        &t.contents,
        FileFavor::Theirs,
    )?;
    let p = Path::new(path);
    let patch = git2::Patch::from_buffers(&mine.contents, Some(p), &theirs.contents, Some(p), None)
        .and_then(|mut patch| patch.to_buf())
        .map_err(|e| Error::Internal(format!("patch of `{path}`: {e}")))?;
    let rej = format!("{path}{REJ_SUFFIX}");
    let mut writes = vec![GeneratedFile {
        path: rej.clone(),
        contents: patch.to_vec(),
        mode: 0o644,
    }];
    if mine.contents != o.contents {
        writes.push(GeneratedFile {
            path: path.to_string(),
            contents: mine.contents,
            mode: o.mode,
        });
    }
    Ok(Step {
        path: path.to_string(),
        what: What::Conflict {
            how: Conflict::Rej,
            aside: Some(rej),
        },
        writes,
    })
}

/// Where the baseline came from, for the plan's first line.
enum BaseFrom {
    Ref,
    Pending,
    Commit(Oid),
    Answers,
}

/// The update itself: `extra` holds answers given over plugsmith.toml's (`add`).
fn update(args: &UpdateArgs, extra: Answers) -> Result<ExitCode> {
    let dir = project_dir(&args.project)?;
    let shown = args.project.clone();
    let recorded = answers::read_answers_file(&dir.join(ANSWERS_FILE))?.plugsmith;
    // The project is named by its folder, as `new` names it.
    let project_name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stack = StackSource::of(args, recorded.as_ref());
    let stack_dir = stack.dir.clone();
    if let Some(d) = &stack_dir {
        if !d.is_dir() {
            return Err(Error::usage_hint(
                format!(
                    "the stack folder `{}` that {ANSWERS_FILE} records is not there",
                    d.display()
                ),
                "pass `--stack-dir DIR` to name where it is now",
            ));
        }
    }
    let plugin = resolve(&dir, &stack, extra, &project_name)?;
    let mut loc = Location::find(&dir)?.ok_or_else(|| {
        Error::usage_hint(
            format!(
                "`{}` is not in a git repository: update keeps its baseline in one, and needs one to keep your changes safe",
                shown.display()
            ),
            "`git init`, commit the project, then run `plugsmith update --baseline-from-answers`",
        )
    })?;
    let id = recorded.as_ref().and_then(|r| r.id.clone());
    // A baseline named on the command line is the one: no refs are looked for, none moved.
    let follow = if args.baseline.is_some() || args.baseline_from_answers {
        baseline::Follow::default()
    } else {
        loc.follow_move(id.as_deref(), &dir, args.dry_run)?
    };
    moved_note(&follow, &loc, args.dry_run);

    // The ancestor of the merge.
    let old_baseline = baseline::read_ref(&loc.repo, &loc.refs.baseline);
    let pending = baseline::read_ref(&loc.repo, &loc.refs.pending);
    let (base, base_from) = if let Some(c) = &args.baseline {
        let oid = loc
            .repo
            .revparse_single(c)
            .and_then(|o| o.peel_to_commit())
            .map_err(|e| Error::usage(format!("`--baseline {c}`: {}", e.message())))?
            .id();
        // A commit of the repository holds the project in its folder; a baseline commit
        // (a ref of plugsmith's, e.g. the one of the folder it was copied from) at its root.
        let tree = loc
            .repo
            .find_commit(oid)
            .and_then(|c| c.tree())
            .map_err(baseline::git_err("read a commit", &shown))?;
        let prefix = match tree.get_path(Path::new(&loc.rel)) {
            Err(_) if tree.get_name(ANSWERS_FILE).is_some() => "",
            _ => loc.rel.as_str(),
        };
        let files = baseline::read_commit(&loc.repo, oid, prefix, &shown)?;
        if !files.contains_key(ANSWERS_FILE) {
            return Err(Error::usage(format!(
                "`--baseline {c}`: that commit has no {ANSWERS_FILE} for this project"
            )));
        }
        (files, BaseFrom::Commit(oid))
    } else if args.baseline_from_answers {
        let rec = match &recorded {
            Some(r) if r.version == VERSION => r,
            other => {
                let version = other.as_ref().map_or("no version".to_string(), |r| {
                    format!("version {}", r.version)
                });
                return Err(Error::usage_hint(
                    format!(
                        "{ANSWERS_FILE} records {version}, and this is plugsmith {VERSION}: the baseline cannot be rendered from the answers"
                    ),
                    "name the commit that holds the project as plugsmith generated it: `plugsmith update --baseline COMMIT` (often the project's first commit)",
                ));
            }
        };
        let p = resolve(&dir, &stack, Answers::default(), &project_name)?;
        let mut n = 0;
        let mut placeholder = |prefix: &str| {
            n += 1;
            Ok(format!("{prefix}baseline-{n}"))
        };
        let mut project = render::render(&p, &mut placeholder)?;
        baseline::stamp(&mut project, rec)?;
        (baseline::files_of(&project), BaseFrom::Answers)
    } else if let Some(p) = pending {
        let open = unresolved(&loc.repo, p, &dir, &shown)?;
        if !open.is_empty() {
            return Err(Error::usage_hint(
                format!(
                    "the last update left conflicts that are not resolved: {}",
                    open.join(", ")
                ),
                "resolve them (remove the conflict markers; apply or drop each .rej and .plugsmith-new file, then delete it), commit, and run update again; or `plugsmith update --abort` puts every file that update wrote back as it was",
            ));
        }
        (
            baseline::read_commit(&loc.repo, p, "", &shown)?,
            BaseFrom::Pending,
        )
    } else if let Some(b) = old_baseline {
        (
            baseline::read_commit(&loc.repo, b, "", &shown)?,
            BaseFrom::Ref,
        )
    } else {
        let mut hint = "`--baseline-from-answers` renders it from plugsmith.toml (same plugsmith version), or `--baseline COMMIT` names a commit holding the project as generated".to_string();
        for (rel, refs) in &follow.copy_of {
            let _ = write!(
                hint,
                "; `{rel}` holds this same project (the same id in {ANSWERS_FILE}: a copy?), `--baseline {}` merges from its baseline",
                refs.baseline
            );
        }
        if !loc.rel.is_empty() && follow.copy_of.is_empty() {
            hint.push_str("; moved from another folder of this repository? `--baseline REF` names the baseline it had there (`git for-each-ref refs/plugsmith` lists them)");
        }
        return Err(Error::usage_hint(
            format!(
                "`{}` has no baseline (`{}`): update cannot tell your changes from plugsmith's",
                shown.display(),
                loc.refs.baseline
            ),
            hint,
        ));
    };

    // The new render, and `.env` kept.
    let mut project = render::render(&plugin, &mut secrets::generate)?;
    let mut rec = Recorded::now(&plugin);
    if id.is_some() {
        rec.id = id; // the project's id stays; a project older than ids gets one
    }
    baseline::stamp(&mut project, &rec)?;
    let env_before = read_ours(&dir, ENV_FILE)?;
    let env_rendered = baseline::generated(&project, ENV_FILE)
        .map(|f| String::from_utf8_lossy(&f.contents).into_owned())
        .unwrap_or_default();
    let env_kept = keep::merge_env_only(&dir, &mut project)?;
    let theirs = baseline::files_of(&project);
    let env_file = baseline::generated(&project, ENV_FILE)
        .cloned()
        .ok_or_else(|| Error::Internal("no .env rendered".into()))?;
    let env_step = match (&env_before, &env_kept) {
        (None, _) => Some((Change::Created, Vec::new())),
        (Some(_), Some(k)) if !k.added.is_empty() => Some((Change::Overwritten, k.added.clone())),
        _ => None,
    };
    let unused = unused_env_keys(&base, &env_before, &env_rendered);

    let steps = plan_files(&dir, &base, &theirs, args.conflict)?;
    let conflicts: Vec<&Step> = steps
        .iter()
        .filter(|s| matches!(s.what, What::Conflict { .. }))
        .collect();

    // Uncommitted changes: refused, or saved first.
    let touched: BTreeSet<String> = steps
        .iter()
        .flat_map(|s| {
            std::iter::once(s.path.clone()).chain(s.writes.iter().map(|w| w.path.clone()))
        })
        .collect();
    let dirty = uncommitted(&loc, &touched, &shown)?;
    if !dirty.is_empty() && !args.allow_dirty {
        return Err(Error::usage_hint(
            format!(
                "`{}` has uncommitted changes: {}",
                shown.display(),
                dirty.join(", ")
            ),
            "commit or stash them first, or pass `--allow-dirty` (the files update changes are then saved in a commit first)",
        ));
    }

    // The plan.
    let mut out = String::new();
    let verb = if args.dry_run {
        "Would update"
    } else {
        "Updating"
    };
    let from = match base_from {
        BaseFrom::Ref => format!("the baseline {}", loc.refs.baseline),
        BaseFrom::Pending => format!("the resolved update {}", loc.refs.pending),
        BaseFrom::Commit(c) => format!("commit {c}"),
        BaseFrom::Answers => "a baseline rendered from the answers".to_string(),
    };
    let _ = writeln!(
        out,
        "{verb} `{}` to plugsmith {VERSION} (merging from {from}):",
        shown.display()
    );
    for s in &steps {
        let _ = writeln!(out, "{}", step_line(s));
    }
    match &env_step {
        Some((Change::Created, _)) => {
            let _ = writeln!(out, "  {:<12} {ENV_FILE} (fresh secrets)", "created");
        }
        Some((_, added)) => {
            let _ = writeln!(
                out,
                "  {:<12} {ENV_FILE} (added {})",
                "kept",
                added.join(", ")
            );
        }
        None => {}
    }
    if !unused.is_empty() {
        let _ = writeln!(
            out,
            "  {:<12} {ENV_FILE}: {} no longer read by this version (not deleted)",
            "note",
            unused.join(", ")
        );
    }
    let nothing = steps.is_empty() && env_step.is_none();
    if nothing {
        let _ = writeln!(out, "  nothing to change");
    }

    if args.dry_run {
        let _ = writeln!(out, "Dry run: nothing was written.");
        print(&out);
        return Ok(finish_code(&conflicts, &shown, true));
    }

    // Commits and refs are made before any file is written, set after.
    let repo = &loc.repo;
    let saved = if dirty.is_empty() {
        None
    } else {
        Some(save(&loc, &dir, &touched, &shown)?)
    };
    let needs_record = !matches!(base_from, BaseFrom::Ref) || base != theirs;
    let record = match (conflicts.is_empty(), needs_record) {
        (true, false) => None,
        (true, true) => Some((
            loc.refs.baseline.clone(),
            baseline::baseline_commit(repo, &theirs, old_baseline, &project.secrets, &shown)?,
        )),
        (false, _) => {
            let mut message = format!(
                "plugsmith {VERSION}: an update waiting for its conflicts to be resolved\n\n"
            );
            for c in &conflicts {
                if let What::Conflict { how, .. } = &c.what {
                    let _ = writeln!(message, "conflict {} {}", how.as_str(), c.path);
                }
            }
            let list: Vec<(String, &Blob)> = theirs.iter().map(|(p, b)| (p.clone(), b)).collect();
            let tree = baseline::write_tree(repo, &list, &shown)?;
            let commit = baseline::commit_tree(repo, tree, old_baseline, &message, &shown)?;
            crate::git::check_commit(repo, &shown, commit, &project.secrets)?;
            Some((loc.refs.pending.clone(), commit))
        }
    };

    let mut files: Vec<GeneratedFile> = steps.iter().flat_map(|s| s.writes.clone()).collect();
    if env_step.is_some() {
        files.push(env_file);
    }
    let plan = overwrite_plan(&dir, &files);
    let removed: Vec<&str> = steps
        .iter()
        .filter(|s| s.what == What::Removed)
        .map(|s| s.path.as_str())
        .collect();
    // What `--abort` puts back, recorded before the first file is written.
    if !conflicts.is_empty() {
        let undo = undo_commit(&loc, &dir, &files, &removed, &shown)?;
        baseline::set_ref(repo, &loc.refs.undo, undo, "plugsmith update", &shown)?;
    }
    print(&out);
    if !files.is_empty() {
        let staging = writer::Staging::new(&dir, Target::Existing)?;
        writer::write(staging, &dir, &files, &plan, |_| Ok(()))?;
    }
    for path in &removed {
        remove(&dir, path)?;
    }
    if let Some((name, commit)) = &record {
        baseline::set_ref(repo, name, *commit, "plugsmith update", &shown)?;
    }
    if conflicts.is_empty() {
        clear_pending(&loc);
    }
    if let Some(c) = saved {
        println!(
            "note: your uncommitted files were saved first in commit {c} ({}); `git checkout {c} -- PATH` brings one back",
            loc.refs.saved
        );
    }
    if conflicts.is_empty() && record.is_some() {
        println!("The baseline is now this render ({}).", loc.refs.baseline);
    }
    Ok(finish_code(&conflicts, &shown, false))
}

/// Says that a project's refs followed it from the folder it was moved from.
fn moved_note(follow: &baseline::Follow, loc: &Location, dry_run: bool) {
    let Some(from) = &follow.moved_from else {
        return;
    };
    if dry_run {
        println!(
            "note: the baseline of `{from}` is this project's (the same id in {ANSWERS_FILE}; moved to `{}`): without --dry-run its refs follow it",
            loc.rel
        );
    } else {
        println!(
            "note: the baseline of `{from}` followed the project to `{}` (the same id in {ANSWERS_FILE}): its refs are now {}",
            loc.rel, loc.refs.baseline
        );
    }
}

/// Forgets an update that waited for its conflicts (the `pending` and `undo` refs).
fn clear_pending(loc: &Location) {
    for name in [&loc.refs.pending, &loc.refs.undo] {
        if let Ok(mut r) = loc.repo.find_reference(name) {
            let _ = r.delete();
        }
    }
}

/// The record `update --abort` reads: a commit whose tree holds the files the update is about to
/// write or remove as they are now (every one but `.env`, which no commit holds), and whose
/// message lists each file with what the update leaves there:
/// `file AFTER MODE PATH` (AFTER: the blob id written, `-` when removed; MODE: the file's octal
/// mode before, `-` when it did not exist) and, for `.env`, which the update only ever appends
/// to, `env MODE LENGTH AFTER-LENGTH KEYS` (LENGTH before, `-` when it did not exist; KEYS: those
/// set in what was appended, comma-separated). No secret, and no hash of one, is recorded.
/// An update that was waiting before this one (its conflicts resolved) is named by
/// `waiting PENDING UNDO` (`-` for none) and its commits are the parents: `--abort` leaves it
/// waiting again.
fn undo_commit(
    loc: &Location,
    dir: &Path,
    files: &[GeneratedFile],
    removed: &[&str],
    shown: &Path,
) -> Result<Oid> {
    let mut message = format!(
        "plugsmith {VERSION}: the files an update that stopped on conflicts wrote, as they were before it (`plugsmith update --abort` puts them back)\n\n"
    );
    let after: std::collections::BTreeMap<&str, Option<&GeneratedFile>> = files
        .iter()
        .map(|f| (f.path.as_str(), Some(f)))
        .chain(removed.iter().map(|p| (*p, None)))
        .collect();
    let mut before = Vec::new();
    for (path, after) in after {
        let was = read_ours(dir, path)?;
        let mode = was
            .as_ref()
            .map_or("-".to_string(), |b| format!("{:o}", b.mode));
        if path == ENV_FILE {
            let Some(after) = after else { continue };
            let old: &[u8] = was.as_ref().map_or(&[], |b| &b.contents);
            if !after.contents.starts_with(old) {
                return Err(Error::Internal(
                    "the update would change .env's existing lines".into(),
                ));
            }
            let added = String::from_utf8_lossy(&after.contents[old.len()..]).into_owned();
            let _ = writeln!(
                message,
                "env {mode} {} {} {}",
                was.as_ref()
                    .map_or("-".to_string(), |b| b.contents.len().to_string()),
                after.contents.len(),
                keep::env_keys(&added).join(",")
            );
            continue;
        }
        let id = match after {
            Some(f) => Oid::hash_object(git2::ObjectType::Blob, &f.contents)
                .map_err(|e| Error::Internal(format!("hash of `{path}`: {e}")))?
                .to_string(),
            None => "-".to_string(),
        };
        let _ = writeln!(message, "file {id} {mode} {path}");
        if let Some(b) = was {
            before.push((path.to_string(), b));
        }
    }
    let waiting = [
        baseline::read_ref(&loc.repo, &loc.refs.pending),
        baseline::read_ref(&loc.repo, &loc.refs.undo),
    ];
    if waiting[0].is_some() {
        let name = |c: Option<Oid>| c.map_or("-".to_string(), |c| c.to_string());
        let _ = writeln!(message, "waiting {} {}", name(waiting[0]), name(waiting[1]));
    }
    let parents: Vec<Oid> = waiting.into_iter().flatten().collect();
    let list: Vec<(String, &Blob)> = before.iter().map(|(p, b)| (p.clone(), b)).collect();
    let tree = baseline::write_tree(&loc.repo, &list, shown)?;
    baseline::commit_tree_parents(&loc.repo, tree, &parents, &message, shown)
}

/// One line of an undo record ([`undo_commit`]).
#[derive(Debug, PartialEq, Eq)]
enum Undo {
    File {
        path: String,
        after: Option<Oid>,
        mode: Option<u32>,
    },
    Env {
        mode: Option<u32>,
        len: Option<usize>,
        after_len: usize,
        keys: Vec<String>,
    },
    /// The update that was waiting before (its `pending` and `undo` commits).
    Waiting { pending: Oid, undo: Option<Oid> },
}

fn parse_undo(message: &str) -> Vec<Undo> {
    let mode = |m: &str| u32::from_str_radix(m, 8).ok();
    message
        .lines()
        .filter_map(|line| {
            let mut parts = line.splitn(5, ' ');
            match parts.next()? {
                "file" => {
                    let (after, m) = (parts.next()?, parts.next()?);
                    let rest: Vec<&str> = parts.collect();
                    Some(Undo::File {
                        path: rest.join(" "),
                        after: Oid::from_str(after).ok(),
                        mode: mode(m),
                    })
                }
                "waiting" => Some(Undo::Waiting {
                    pending: Oid::from_str(parts.next()?).ok()?,
                    undo: parts.next().and_then(|u| Oid::from_str(u).ok()),
                }),
                "env" => {
                    let (m, len, after_len) = (parts.next()?, parts.next()?, parts.next()?);
                    let keys = parts.next().unwrap_or_default();
                    Some(Undo::Env {
                        mode: mode(m),
                        len: len.parse().ok(),
                        after_len: after_len.parse().ok()?,
                        keys: keys
                            .split(',')
                            .filter(|k| !k.is_empty())
                            .map(str::to_string)
                            .collect(),
                    })
                }
                _ => None,
            }
        })
        .collect()
}

/// `plugsmith update --abort`: puts back every file the update that stopped on conflicts wrote
/// or removed, as it was before, and forgets that update; the baseline stays where it was.
fn abort(args: &UpdateArgs) -> Result<ExitCode> {
    let dir = project_dir(&args.project)?;
    let shown = args.project.clone();
    let nothing = || {
        Error::usage_hint(
            format!(
                "`{}`: nothing to abort: no update is waiting for its conflicts to be resolved",
                shown.display()
            ),
            "`--abort` undoes an update that stopped on conflicts (exit 1), until they are resolved and `plugsmith update` has run again",
        )
    };
    let Some(mut loc) = Location::find(&dir)? else {
        return Err(nothing());
    };
    // plugsmith.toml may hold conflict markers now: no id then.
    let id = answers::read_answers_file(&dir.join(ANSWERS_FILE))
        .ok()
        .and_then(|a| a.plugsmith)
        .and_then(|r| r.id);
    let follow = loc.follow_move(id.as_deref(), &dir, args.dry_run)?;
    moved_note(&follow, &loc, args.dry_run);
    let Some(undo) = baseline::read_ref(&loc.repo, &loc.refs.undo) else {
        if baseline::read_ref(&loc.repo, &loc.refs.pending).is_some() {
            return Err(Error::usage_hint(
                format!(
                    "the update waiting on {} was made by a plugsmith without `--abort`: it did not record the files as they were before it",
                    loc.refs.pending
                ),
                format!(
                    "put the files back with git (`git checkout HEAD -- .` if they were committed before that update), then `git update-ref -d {}`",
                    loc.refs.pending
                ),
            ));
        }
        return Err(nothing());
    };
    let commit = loc
        .repo
        .find_commit(undo)
        .map_err(baseline::git_err("read a commit", &shown))?;
    let entries = parse_undo(commit.message().unwrap_or_default());
    let before = baseline::read_commit(&loc.repo, undo, "", &shown)?;

    let mut put: Vec<GeneratedFile> = Vec::new();
    let mut rm: Vec<String> = Vec::new();
    let mut lines: Vec<String> = Vec::new();
    let mut changed: Vec<String> = Vec::new();
    let mut env_note = None;
    let mut waiting = None;
    for e in &entries {
        match e {
            Undo::Waiting { pending, undo } => waiting = Some((*pending, *undo)),
            Undo::File { path, after, mode } => {
                let now = read_ours(&dir, path)?;
                let was = before.get(path);
                let (now_c, was_c) = (now.as_ref().map(|b| &b.contents), was.map(|b| &b.contents));
                let mode = mode.unwrap_or(0o644);
                if now_c == was_c && now.as_ref().is_none_or(|b| b.mode == mode) {
                    continue; // already as it was
                }
                let as_left = match (&now, after) {
                    (None, None) => true,
                    (Some(n), Some(id)) => {
                        Oid::hash_object(git2::ObjectType::Blob, &n.contents).ok() == Some(*id)
                    }
                    _ => false,
                };
                if !as_left {
                    changed.push(path.clone());
                    if !args.allow_dirty {
                        continue;
                    }
                }
                match was {
                    Some(b) => {
                        put.push(GeneratedFile {
                            path: path.clone(),
                            contents: b.contents.clone(),
                            mode,
                        });
                        lines.push(format!("  {:<12} {path}", "restored"));
                    }
                    None => {
                        if now.is_some() {
                            rm.push(path.clone());
                            lines.push(format!(
                                "  {:<12} {path} (the update created it)",
                                "removed"
                            ));
                        }
                    }
                }
            }
            Undo::Env {
                mode,
                len,
                after_len,
                keys,
            } => {
                let now = read_ours(&dir, ENV_FILE)?;
                let keys_of = |b: &[u8]| -> Vec<String> {
                    keep::env_keys(&String::from_utf8_lossy(b))
                        .into_iter()
                        .map(str::to_string)
                        .collect()
                };
                let as_before = match (&now, len) {
                    (None, None) => true,
                    (Some(n), Some(l)) => {
                        n.contents.len() == *l
                            && !keys_of(&n.contents).iter().any(|k| keys.contains(k))
                    }
                    _ => false,
                };
                if as_before {
                    continue;
                }
                let cut = len.unwrap_or(0);
                let as_left = now.as_ref().is_some_and(|n| {
                    n.contents.len() == *after_len
                        && n.contents.len() >= cut
                        && keys_of(&n.contents[cut..]) == *keys
                });
                let n = match (&now, as_left) {
                    (Some(n), true) => n,
                    _ => {
                        changed.push(ENV_FILE.to_string());
                        env_note = Some(format!(
                            "  {:<12} {ENV_FILE} (changed since the update, left as it is; the update had {} {})",
                            "kept",
                            if len.is_some() { "appended" } else { "created it with" },
                            keys.join(", ")
                        ));
                        continue;
                    }
                };
                match len {
                    Some(l) => {
                        put.push(GeneratedFile {
                            path: ENV_FILE.to_string(),
                            contents: n.contents[..*l].to_vec(),
                            mode: mode.unwrap_or(0o600),
                        });
                        lines.push(format!(
                            "  {:<12} {ENV_FILE} (the keys the update appended taken out: {})",
                            "restored",
                            keys.join(", ")
                        ));
                    }
                    None => {
                        rm.push(ENV_FILE.to_string());
                        lines.push(format!(
                            "  {:<12} {ENV_FILE} (the update created it)",
                            "removed"
                        ));
                    }
                }
            }
        }
    }
    if !changed.is_empty() && !args.allow_dirty {
        return Err(Error::usage_hint(
            format!(
                "`{}`: changed since the update stopped on conflicts, so `--abort` would lose your changes: {}",
                shown.display(),
                changed.join(", ")
            ),
            format!(
                "put them back as the update left them, or pass `--allow-dirty`: they are then saved first in a commit on {} (but .env, which is then left as it is)",
                loc.refs.saved
            ),
        ));
    }

    let verb = if args.dry_run {
        "Would abort"
    } else {
        "Aborting"
    };
    let mut out = format!(
        "{verb} the update of `{}` that stopped on conflicts (every file it wrote back as it was before it):\n",
        shown.display()
    );
    for l in lines.iter().chain(&env_note) {
        let _ = writeln!(out, "{l}");
    }
    if lines.is_empty() {
        let _ = writeln!(out, "  nothing to put back");
    }
    if args.dry_run {
        let _ = writeln!(out, "Dry run: nothing was written.");
        print(&out);
        return Ok(ExitCode::SUCCESS);
    }

    let save_these: BTreeSet<String> = changed.into_iter().filter(|p| p != ENV_FILE).collect();
    let saved = if save_these.is_empty() {
        None
    } else {
        Some(save(&loc, &dir, &save_these, &shown)?)
    };
    print(&out);
    if !put.is_empty() {
        let plan = overwrite_plan(&dir, &put);
        let staging = writer::Staging::new(&dir, Target::Existing)?;
        writer::write(staging, &dir, &put, &plan, |_| Ok(()))?;
        // The exact mode, whatever the umask took off.
        use std::os::unix::fs::PermissionsExt;
        for f in &put {
            let full = dir.join(&f.path);
            std::fs::set_permissions(&full, std::fs::Permissions::from_mode(f.mode))
                .map_err(|e| Error::io("cannot set the mode of", &full, e))?;
        }
    }
    for path in &rm {
        remove(&dir, path)?;
    }
    clear_pending(&loc);
    if let Some((pending, undo)) = waiting {
        baseline::set_ref(
            &loc.repo,
            &loc.refs.pending,
            pending,
            "plugsmith update --abort",
            &shown,
        )?;
        if let Some(u) = undo {
            baseline::set_ref(
                &loc.repo,
                &loc.refs.undo,
                u,
                "plugsmith update --abort",
                &shown,
            )?;
        }
    }
    if let Some(c) = saved {
        println!(
            "note: the files you had changed since the update were saved first in commit {c} ({}); `git checkout {c} -- PATH` brings one back",
            loc.refs.saved
        );
    }
    if waiting.is_some() {
        println!(
            "Aborted; the update before it is waiting again ({}), its conflicts resolved: `plugsmith update` completes it.",
            loc.refs.pending
        );
    } else {
        println!(
            "Aborted; the baseline is unchanged ({}): `plugsmith update` starts again from it.",
            loc.refs.baseline
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn print(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// Exit 1 with every conflict listed, or 0.
fn finish_code(conflicts: &[&Step], shown: &Path, dry_run: bool) -> ExitCode {
    if conflicts.is_empty() {
        return ExitCode::SUCCESS;
    }
    let mut err = std::io::stderr().lock();
    let paths: Vec<&str> = conflicts.iter().map(|s| s.path.as_str()).collect();
    let _ = writeln!(
        err,
        "error: {} conflict{} in `{}`{}: {}",
        paths.len(),
        if paths.len() == 1 { "" } else { "s" },
        shown.display(),
        if dry_run { " (would be)" } else { "" },
        paths.join(", ")
    );
    if !dry_run {
        let _ = writeln!(
            err,
            "hint: resolve each one (remove the conflict markers; apply or drop each .rej and .plugsmith-new file, then delete it), commit, and run `plugsmith update` again: it records the new baseline; or `plugsmith update --abort` puts every file it wrote back as it was"
        );
    }
    ExitCode::from(1)
}

/// One line of the plan.
fn step_line(s: &Step) -> String {
    let (word, note) = match &s.what {
        What::Updated => ("updated", String::new()),
        What::Merged => ("merged", " (your changes kept)".to_string()),
        What::Created => ("created", String::new()),
        What::Removed => ("removed", " (no longer generated)".to_string()),
        What::KeptChanged => (
            "kept",
            " (no longer generated; you changed it, so it stays)".to_string(),
        ),
        What::Conflict { how, aside } => (
            "conflict",
            match (how, aside) {
                (Conflict::Markers, _) => " (conflict markers in the file)".to_string(),
                (Conflict::Rej, Some(a)) => format!(" (your side kept; plugsmith's change in {a})"),
                (Conflict::Aside, Some(a)) => {
                    format!(" (not touched: plugsmith's version is {a})")
                }
                _ => String::new(),
            },
        ),
    };
    format!("  {word:<12} {}{note}", s.path)
}

/// The keys the old version's `.env.example` had, the user's `.env` still has, and the new
/// render no longer sets.
fn unused_env_keys(base: &Files, env: &Option<Blob>, new_env: &str) -> Vec<String> {
    let (Some(example), Some(env)) = (base.get(".env.example"), env) else {
        return Vec::new();
    };
    let example = String::from_utf8_lossy(&example.contents);
    let env = String::from_utf8_lossy(&env.contents);
    let (have, now) = (keep::env_keys(&env), keep::env_keys(new_env));
    keep::env_keys(&example)
        .into_iter()
        .filter(|k| have.contains(k) && !now.contains(k))
        .map(str::to_string)
        .collect()
}

/// The project's uncommitted changes: any change git sees in a tracked file, and any file the
/// update would write over or remove that git does not track (its content is nowhere else).
fn uncommitted(loc: &Location, touched: &BTreeSet<String>, shown: &Path) -> Result<Vec<String>> {
    let statuses = loc
        .repo
        .statuses(Some(
            git2::StatusOptions::new()
                .include_untracked(true)
                .recurse_untracked_dirs(true)
                .include_ignored(false),
        ))
        .map_err(baseline::git_err("read the status", shown))?;
    let prefix = if loc.rel.is_empty() {
        String::new()
    } else {
        format!("{}/", loc.rel)
    };
    let mut dirty = Vec::new();
    for s in statuses.iter() {
        let Some(path) = s.path().and_then(|p| p.strip_prefix(&prefix)) else {
            continue;
        };
        let st = s.status();
        if st.is_ignored() || st == git2::Status::CURRENT {
            continue;
        }
        if st == git2::Status::WT_NEW && !touched.contains(path) {
            continue; // a file of yours git does not track, which the update leaves alone
        }
        dirty.push(path.to_string());
    }
    Ok(dirty)
}

/// Saves the files the update touches, as they are on disk, in a commit on the `saved` ref.
fn save(loc: &Location, dir: &Path, touched: &BTreeSet<String>, shown: &Path) -> Result<Oid> {
    let mut blobs = Vec::new();
    for path in touched {
        if let Some(b) = read_ours(dir, path)? {
            blobs.push((loc.repo_path(path), b));
        }
    }
    let list: Vec<(String, &Blob)> = blobs.iter().map(|(p, b)| (p.clone(), b)).collect();
    let tree = baseline::write_tree(&loc.repo, &list, shown)?;
    let head = loc
        .repo
        .head()
        .ok()
        .and_then(|h| h.peel_to_commit().ok())
        .map(|c| c.id());
    let commit = baseline::commit_tree(
        &loc.repo,
        tree,
        head,
        "plugsmith update: the files it changed, as they were before (uncommitted changes included)",
        shown,
    )?;
    baseline::set_ref(
        &loc.repo,
        &loc.refs.saved,
        commit,
        "plugsmith update",
        shown,
    )?;
    Ok(commit)
}

/// Removes a generated file and the folders it leaves empty (up to the project's).
fn remove(dir: &Path, path: &str) -> Result<()> {
    let full = dir.join(path);
    std::fs::remove_file(&full).map_err(|e| Error::io("cannot remove", &full, e))?;
    let mut parent = full.parent();
    while let Some(p) = parent.filter(|p| *p != dir) {
        if std::fs::remove_dir(p).is_err() {
            break; // not empty
        }
        parent = p.parent();
    }
    Ok(())
}

/// The conflicts a pending update recorded that are still there.
fn unresolved(repo: &Repository, pending: Oid, dir: &Path, shown: &Path) -> Result<Vec<String>> {
    let commit = repo
        .find_commit(pending)
        .map_err(baseline::git_err("read a commit", shown))?;
    let mut open = Vec::new();
    for line in commit.message().unwrap_or_default().lines() {
        let mut parts = line.splitn(3, ' ');
        let (Some("conflict"), Some(how), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let still = match Conflict::parse(how) {
            Some(Conflict::Markers) => std::fs::read(dir.join(path)).is_ok_and(|b| has_markers(&b)),
            Some(Conflict::Rej) => dir.join(format!("{path}{REJ_SUFFIX}")).exists(),
            Some(Conflict::Aside) => dir.join(format!("{path}{ASIDE_SUFFIX}")).exists(),
            None => false,
        };
        if still {
            open.push(path.to_string());
        }
    }
    Ok(open)
}

/// True when a file still holds a conflict marker line.
fn has_markers(bytes: &[u8]) -> bool {
    String::from_utf8_lossy(bytes)
        .lines()
        .any(|l| l.starts_with("<<<<<<< ") || l.starts_with(">>>>>>> "))
}

/// The plan of writing `files` into the existing project `dir`: each one overwritten, or created
/// where there is none.
fn overwrite_plan(dir: &Path, files: &[GeneratedFile]) -> writer::Plan {
    let changes = files
        .iter()
        .map(|f| {
            let change = if dir.join(&f.path).exists() {
                Change::Overwritten
            } else {
                Change::Created
            };
            (f.path.clone(), change)
        })
        .collect();
    writer::Plan {
        target: Target::Existing,
        changes,
        kept: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_names_list_answers_in_the_singular() {
        let names: Vec<String> = list_keys().into_iter().map(|(n, _)| n).collect();
        for n in ["endpoint", "scope", "redirect-uri"] {
            assert!(names.iter().any(|x| x == n), "{names:?}");
        }
        assert!(!names.iter().any(|x| x == "auth"), "{names:?}");
    }

    #[test]
    fn add_parses_an_item_as_its_flag_does() {
        let file = Answers {
            endpoints: crate::answers::parse_endpoint("GET /todos List")
                .ok()
                .map(|e| vec![e]),
            ..Answers::default()
        };
        let a = add_item(&file, "endpoint", "POST /notes Add a note").unwrap();
        let eps = a.endpoints.unwrap();
        assert_eq!(eps.len(), 2);
        assert_eq!(
            (eps[1].method.as_str(), eps[1].path.as_str()),
            ("POST", "/notes")
        );
        let err = add_item(&file, "endpoint", "POST").unwrap_err().to_string();
        assert!(err.contains("METHOD /path Summary"), "{err}");
        assert!(add_item(&file, "colour", "x").is_err());
        let a = add_item(&file, "scope", "admin").unwrap();
        assert_eq!(a.scopes, Some(vec!["admin".to_string()]));
    }

    #[test]
    fn undo_records_read_back() {
        let id = Oid::hash_object(git2::ObjectType::Blob, b"x").unwrap();
        let message = format!(
            "title\n\nenv 600 12 80 A,B_2\nenv - - 7 \nfile {id} 755 a b/c d.txt\nfile - - gone\nconflict markers x\nwaiting {id} -\n"
        );
        assert_eq!(
            parse_undo(&message),
            vec![
                Undo::Env {
                    mode: Some(0o600),
                    len: Some(12),
                    after_len: 80,
                    keys: vec!["A".into(), "B_2".into()],
                },
                Undo::Env {
                    mode: None,
                    len: None,
                    after_len: 7,
                    keys: Vec::new(),
                },
                Undo::File {
                    path: "a b/c d.txt".into(),
                    after: Some(id),
                    mode: Some(0o755),
                },
                Undo::File {
                    path: "gone".into(),
                    after: None,
                    mode: None,
                },
                Undo::Waiting {
                    pending: id,
                    undo: None,
                },
            ]
        );
    }

    #[test]
    fn merges_clean_and_conflicting_buffers() {
        let m = Merger::new().unwrap();
        let base = b"a\nb\nc\nd\ne\n";
        let clean = m
            .merge(
                "f",
                base,
                b"A\nb\nc\nd\ne\n",
                b"a\nb\nc\nd\nE\n",
                FileFavor::Normal,
            )
            .unwrap();
        assert!(clean.clean);
        assert_eq!(clean.contents, b"A\nb\nc\nd\nE\n");
        let conflict = m
            .merge(
                "f",
                base,
                b"a\nB\nc\nd\ne\n",
                b"a\nX\nc\nd\ne\n",
                FileFavor::Normal,
            )
            .unwrap();
        assert!(!conflict.clean);
        assert!(has_markers(&conflict.contents));
        let text = String::from_utf8(conflict.contents).unwrap();
        assert!(
            text.contains("<<<<<<< yours") && text.contains(">>>>>>> plugsmith"),
            "{text}"
        );
    }
}
