//! Git-aware parts of the audit, through libgit2 (no `git` process): which files are tracked or
//! ignored (a `.env` that is tracked, or that nothing ignores, is one `git add .` from a leak),
//! and with `--history` every blob reachable from any ref, scanned for secrets, so a key that was
//! committed and deleted later is still reported with the commit that introduced it.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use git2::{Delta, DiffOptions, Oid, Repository, Sort};

use super::finding::{Finding, RuleId, ScanError, Severity};
use super::scan::{scan_bytes, FileKind, CAP_PER_FILE_RULE};

/// The repository around the scanned root, if any.
pub struct RepoView {
    repo: Repository,
    /// The scanned root relative to the work tree, `/`-separated, empty or ending in `/`.
    prefix: String,
    /// Tracked paths relative to the scanned root.
    tracked: HashSet<String>,
}

/// Without a repository: the root's `.gitignore` still says what would be committed.
pub enum Ignores {
    Repo(RepoView),
    Plain(ignore::gitignore::Gitignore),
}

impl Ignores {
    pub fn open(root: &Path) -> Ignores {
        let canon = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
        if let Ok(repo) = Repository::discover(&canon) {
            if let Some(wd) = repo.workdir().and_then(|w| w.canonicalize().ok()) {
                if let Ok(rel) = canon.strip_prefix(&wd) {
                    let mut prefix = rel.to_string_lossy().replace('\\', "/");
                    if !prefix.is_empty() {
                        prefix.push('/');
                    }
                    let mut tracked = HashSet::new();
                    if let Ok(index) = repo.index() {
                        for e in index.iter() {
                            let p = String::from_utf8_lossy(&e.path).into_owned();
                            if let Some(r) = p.strip_prefix(&prefix) {
                                tracked.insert(r.to_string());
                            }
                        }
                    }
                    return Ignores::Repo(RepoView {
                        repo,
                        prefix,
                        tracked,
                    });
                }
            }
        }
        let mut b = ignore::gitignore::GitignoreBuilder::new(&canon);
        b.add(canon.join(".gitignore"));
        Ignores::Plain(
            b.build()
                .unwrap_or_else(|_| ignore::gitignore::Gitignore::empty()),
        )
    }

    pub fn is_repo(&self) -> bool {
        matches!(self, Ignores::Repo(_))
    }

    pub fn is_tracked(&self, rel: &str) -> bool {
        match self {
            Ignores::Repo(r) => r.tracked.contains(rel),
            Ignores::Plain(_) => false,
        }
    }

    pub fn is_ignored(&self, rel: &str) -> bool {
        match self {
            Ignores::Repo(r) => r
                .repo
                .is_path_ignored(format!("{}{rel}", r.prefix))
                .unwrap_or(false),
            Ignores::Plain(g) => g.matched_path_or_any_parents(rel, false).is_ignore(),
        }
    }

    /// Tracked files under the root (for the files an ignore rule hides from the walk).
    pub fn tracked(&self) -> Vec<String> {
        match self {
            Ignores::Repo(r) => r.tracked.iter().cloned().collect(),
            Ignores::Plain(_) => Vec::new(),
        }
    }

    pub fn repo(&self) -> Option<&RepoView> {
        match self {
            Ignores::Repo(r) => Some(r),
            Ignores::Plain(_) => None,
        }
    }
}

/// `.env`, `.env.local`, `prod.env`; not `.env.example` and friends.
pub fn is_env_file(name: &str) -> bool {
    let l = name.to_ascii_lowercase();
    let templ = [
        "example", "sample", "template", "dist", "defaults", "tmpl", "tpl", "schema",
    ];
    if templ.iter().any(|t| l.ends_with(t)) {
        return false;
    }
    // `.env.example.env`, `config.sample.env`: a template saved with an editor-friendly suffix.
    if let Some(stem) = l.strip_suffix(".env") {
        if templ.iter().any(|t| stem.ends_with(t)) {
            return false;
        }
    }
    l == ".env" || l.starts_with(".env.") || l.ends_with(".env")
}

/// Third-party or generated code: installed packages, build output, minified bundles. Its
/// "secrets" are other people's defaults; history skips it (the tree walk skips it when ignored).
pub fn is_vendored(rel: &str) -> bool {
    let mut parts = rel.split('/');
    let name = parts.next_back().unwrap_or(rel);
    parts.any(|c| {
        matches!(
            c,
            "node_modules"
                | "bower_components"
                | "jspm_packages"
                | "vendor"
                | "third_party"
                | "site-packages"
                | ".venv"
                | "venv"
                | "dist"
                | "build"
                | ".next"
                | ".nuxt"
                | ".svelte-kit"
                | "target"
        )
    }) || [
        ".min.js",
        ".min.css",
        ".bundle.js",
        ".chunk.js",
        ".js.map",
        ".css.map",
    ]
    .iter()
    .any(|s| name.ends_with(s))
}

/// SQLite databases by name: `data/app.db`, `tokens.sqlite3` (not Windows Explorer's
/// thumbnail cache `Thumbs.db`).
pub fn is_database_file(name: &str) -> bool {
    let l = name.to_ascii_lowercase();
    l != "thumbs.db"
        && [".db", ".sqlite", ".sqlite3", ".db3"]
            .iter()
            .any(|e| l.ends_with(e))
}

/// The first bytes of every SQLite 3 database file.
pub const SQLITE_MAGIC: &[u8] = b"SQLite format 3\0";

/// How much of a database file is read for its schema: sqlite_master starts on page 1 and a
/// small application's schema fits in its first pages.
const SCHEMA_SCAN: u64 = 1 << 20;

/// Tables read from one schema, at most.
const SCHEMA_TABLES: usize = 500;

/// What the schema text of a SQLite file says.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Schema {
    pub tables: Vec<String>,
    /// Tables that hold credentials by their name (`oauth_access_tokens`, `api_keys`,
    /// `sessions`), or by a column (`users (password_hash)`).
    pub sensitive: Vec<String>,
}

fn sensitive_table(name: &str) -> bool {
    let l = name.to_ascii_lowercase();
    [
        "token",
        "secret",
        "session",
        "credential",
        "password",
        "passwd",
        "api_key",
        "apikey",
        "oauth",
        "auth_code",
        "authorization_code",
        "refresh",
        "jwt",
    ]
    .iter()
    .any(|w| l.contains(w))
}

fn sensitive_column(name: &str) -> bool {
    let l = name.to_ascii_lowercase();
    l.contains("secret")
        || l.contains("password")
        || l.contains("passwd")
        || l == "token"
        || l.ends_with("_token")
        || l.ends_with("token_hash")
        || matches!(
            l.as_str(),
            "api_key" | "apikey" | "private_key" | "key_hash"
        )
        || l.ends_with("_api_key")
}

fn unquote(s: &str) -> &str {
    s.trim()
        .trim_matches(|c| matches!(c, '"' | '`' | '[' | ']' | '\''))
}

/// The tables of a SQLite file from the `CREATE TABLE` statements sqlite_master keeps as plain
/// text in its pages (a bounded byte scan, no SQLite library); `None` when `head` is not a
/// SQLite file.
pub fn sqlite_schema(head: &[u8]) -> Option<Schema> {
    if !head.starts_with(&SQLITE_MAGIC[..15]) {
        return None;
    }
    let mut schema = Schema::default();
    for at in memchr::memmem::find_iter(head, b"CREATE TABLE ") {
        if schema.tables.len() >= SCHEMA_TABLES {
            break;
        }
        // The statement: printable text up to a control byte, 4 KiB at most.
        let rest = &head[at + 13..head.len().min(at + 13 + 4096)];
        let end = rest
            .iter()
            .position(|&b| b < 0x20 && b != b'\n' && b != b'\t' && b != b'\r')
            .unwrap_or(rest.len());
        let stmt = String::from_utf8_lossy(&rest[..end]);
        let stmt = stmt.trim_start();
        let stmt = stmt
            .strip_prefix("IF NOT EXISTS ")
            .or_else(|| stmt.strip_prefix("if not exists "))
            .unwrap_or(stmt);
        let Some(open) = stmt.find('(') else {
            continue;
        };
        let name = unquote(&stmt[..open]).to_string();
        if name.is_empty() || name.starts_with("sqlite_") || schema.tables.contains(&name) {
            continue;
        }
        // Column names: the first word of each top-level definition, constraints left out.
        let mut columns = Vec::new();
        let mut depth = 0usize;
        let mut start = open + 1;
        for (i, c) in stmt.char_indices().skip_while(|(i, _)| *i <= open) {
            match c {
                '(' => depth += 1,
                ')' if depth == 0 => {
                    columns.push(&stmt[start..i]);
                    break;
                }
                ')' => depth -= 1,
                ',' if depth == 0 => {
                    columns.push(&stmt[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        let flagged: Vec<&str> = columns
            .iter()
            .filter_map(|d| d.split_whitespace().next().map(unquote))
            .filter(|c| {
                !matches!(
                    c.to_ascii_uppercase().as_str(),
                    "PRIMARY" | "FOREIGN" | "UNIQUE" | "CHECK" | "CONSTRAINT"
                ) && sensitive_column(c)
            })
            .collect();
        if sensitive_table(&name) {
            schema.sensitive.push(name.clone());
        } else if !flagged.is_empty() {
            schema
                .sensitive
                .push(format!("{name} ({})", flagged.join(", ")));
        }
        schema.tables.push(name);
    }
    Some(schema)
}

/// `git.database-file` for a tracked database: high when its schema names token, secret or
/// session tables (or such columns), medium otherwise or when it cannot be read as SQLite.
fn database_finding(rel: &str, name: &str, abs: &Path) -> Finding {
    let mut head = Vec::new();
    let read = std::fs::File::open(abs).and_then(|f| {
        std::io::Read::read_to_end(&mut std::io::Read::take(f, SCHEMA_SCAN), &mut head)
    });
    let schema = read.ok().and_then(|_| sqlite_schema(&head));
    let (severity, message) = database_verdict(name, schema, "is tracked by git");
    Finding::new(RuleId::GitDatabaseFile, rel, None, message).severity(severity)
}

/// The severity and message of `git.database-file` for a database `name` whose schema (if it
/// is SQLite) is `schema`; `state` says where it is ("is tracked by git").
fn database_verdict(name: &str, schema: Option<Schema>, state: &str) -> (Severity, String) {
    match schema {
        Some(s) if !s.sensitive.is_empty() => {
            let shown: Vec<&str> = s.sensitive.iter().take(6).map(String::as_str).collect();
            let more = s.sensitive.len().saturating_sub(shown.len());
            let more = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            (
                Severity::High,
                format!(
                    "{name} (a SQLite database) {state}; its schema holds tokens or secrets: {}{more}",
                    shown.join(", ")
                ),
            )
        }
        Some(s) => {
            let shown: Vec<&str> = s.tables.iter().take(6).map(String::as_str).collect();
            let what = if shown.is_empty() {
                "no table was read from its schema".to_string()
            } else {
                format!(
                    "its schema ({}) shows no token, secret or session table",
                    shown.join(", ")
                )
            };
            (
                Severity::Medium,
                format!("{name} (a SQLite database) {state}; {what}, but it may hold user data"),
            )
        }
        None => (
            Severity::Medium,
            format!("{name} (a database: tokens, sessions, users) {state}; not a SQLite file, its contents were not read"),
        ),
    }
}

/// Private keys and key stores by name.
pub fn is_key_file(name: &str) -> bool {
    let l = name.to_ascii_lowercase();
    ["id_rsa", "id_dsa", "id_ecdsa", "id_ed25519"].contains(&l.as_str())
        || [".pfx", ".p12", ".jks", ".keystore", ".ppk"]
            .iter()
            .any(|e| l.ends_with(e))
        || (l.ends_with(".pem") || l.ends_with(".key"))
            && (l.contains("priv") || l.contains("key") || l.contains("server"))
}

/// The git findings for one walked file (`.env`, key and database files); `abs` is where it
/// is, `sqlite` whether it starts with the SQLite header (whatever its name).
pub fn file_findings(ign: &Ignores, rel: &str, abs: &Path, sqlite: bool) -> Vec<Finding> {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    let env = is_env_file(name);
    let key = is_key_file(name);
    if (sqlite || is_database_file(name)) && ign.is_tracked(rel) && !is_vendored(rel) {
        return vec![database_finding(rel, name, abs)];
    }
    if !env && !key {
        return Vec::new();
    }
    let tracked = ign.is_tracked(rel);
    let ignored = ign.is_ignored(rel);
    let mut out = Vec::new();
    if env && tracked {
        out.push(Finding::new(
            RuleId::GitEnvTracked,
            rel,
            None,
            format!("{name} is tracked by git: every clone has its values"),
        ));
    } else if env && !ignored {
        let why = if ign.is_repo() {
            "nothing in .gitignore covers it"
        } else {
            "no .gitignore covers it (no repository yet)"
        };
        out.push(Finding::new(
            RuleId::GitEnvNotIgnored,
            rel,
            None,
            format!("{name} would be committed: {why}"),
        ));
    } else if key && tracked {
        out.push(Finding::new(
            RuleId::GitKeyFile,
            rel,
            None,
            format!("{name} (a key or key store) is tracked by git"),
        ));
    } else if key && !ignored {
        out.push(
            Finding::new(
                RuleId::GitKeyFile,
                rel,
                None,
                format!("{name} (a key or key store) is not gitignored"),
            )
            .severity(Severity::Medium),
        );
    }
    out
}

/// Scans every blob reachable from any ref (and HEAD) that is not the current version of a file
/// under the root; reports each secret once, with the oldest commit that introduced it.
pub fn history(
    view: &RepoView,
    skip_path: &dyn Fn(&str) -> bool,
    findings: &mut Vec<Finding>,
    errors: &mut Vec<ScanError>,
) -> u64 {
    let repo = &view.repo;
    let mut walk = match repo.revwalk() {
        Ok(w) => w,
        Err(e) => {
            errors.push(ScanError {
                path: ".git".into(),
                message: format!("cannot walk history: {e}"),
            });
            return 0;
        }
    };
    let _ = walk.set_sorting(Sort::TOPOLOGICAL | Sort::REVERSE);
    let _ = walk.push_head();
    if let Ok(refs) = repo.references() {
        for r in refs.flatten() {
            if let Ok(c) = r.peel_to_commit() {
                let _ = walk.push(c.id());
            }
        }
    }
    // Blobs of the current HEAD: the working-tree scan already reports them.
    let mut seen: HashSet<Oid> = HashSet::new();
    if let Ok(tree) = repo.head().and_then(|h| h.peel_to_tree()) {
        let _ = tree.walk(git2::TreeWalkMode::PreOrder, |_, e| {
            if e.kind() == Some(git2::ObjectType::Blob) {
                seen.insert(e.id());
            }
            git2::TreeWalkResult::Ok
        });
    }
    let head_tree = repo.head().and_then(|h| h.peel_to_tree()).ok();
    // Secrets the tree scan found (same rule, path and value give the same fingerprint).
    let current: HashSet<String> = findings
        .iter()
        .filter(|f| f.family() == "secret")
        .map(|f| f.fingerprint.clone())
        .collect();
    // (path, fingerprint) -> the first finding, up to 4 commits holding it, how many do.
    let mut seen_values: BTreeMap<(String, String), (Finding, Vec<Oid>, usize)> = BTreeMap::new();
    // Distinct values kept per file, and findings left out beyond the cap.
    let mut per_file: BTreeMap<String, usize> = BTreeMap::new();
    let mut overflow: BTreeMap<String, usize> = BTreeMap::new();
    // `.env` files ever committed: path -> the first commit that added it.
    let mut envs: BTreeMap<String, Oid> = BTreeMap::new();
    // Database files ever committed: path -> the first commit, and the schema of the version
    // that names the most credential tables.
    let mut dbs: BTreeMap<String, (Oid, Option<Schema>)> = BTreeMap::new();
    // Objects libgit2 could not read (a shallow clone, a damaged pack): counted, not hidden.
    let mut unreadable = 0u64;
    let mut commits = 0;
    for oid in walk.flatten() {
        let Ok(commit) = repo.find_commit(oid) else {
            unreadable += 1;
            continue;
        };
        commits += 1;
        let Ok(tree) = commit.tree() else {
            unreadable += 1;
            continue;
        };
        let parent_tree = commit.parent(0).ok().and_then(|p| p.tree().ok());
        let mut opts = DiffOptions::new();
        if !view.prefix.is_empty() {
            opts.pathspec(&view.prefix);
        }
        let diff = match repo.diff_tree_to_tree(parent_tree.as_ref(), Some(&tree), Some(&mut opts))
        {
            Ok(d) => d,
            Err(e) => {
                errors.push(ScanError {
                    path: format!("commit {oid}"),
                    message: e.to_string(),
                });
                continue;
            }
        };
        for delta in diff.deltas() {
            if !matches!(
                delta.status(),
                Delta::Added | Delta::Modified | Delta::Renamed | Delta::Copied
            ) {
                continue;
            }
            let nf = delta.new_file();
            let id = nf.id();
            let Some(full) = nf.path().map(PathBuf::from) else {
                continue;
            };
            let full = full.to_string_lossy().replace('\\', "/");
            let Some(rel) = full.strip_prefix(&view.prefix) else {
                continue;
            };
            if skip_path(rel) || is_vendored(rel) {
                continue;
            }
            if is_env_file(rel.rsplit('/').next().unwrap_or(rel)) {
                envs.entry(rel.to_string()).or_insert(oid);
            }
            if !seen.insert(id) {
                continue;
            }
            let Ok(blob) = repo.find_blob(id) else {
                unreadable += 1;
                continue;
            };
            let content = blob.content();
            if is_database_file(rel.rsplit('/').next().unwrap_or(rel))
                || content.starts_with(SQLITE_MAGIC)
            {
                let head = &content[..content.len().min(SCHEMA_SCAN as usize)];
                let schema = sqlite_schema(head);
                let e = dbs.entry(rel.to_string()).or_insert((oid, None));
                let weight = |s: &Option<Schema>| s.as_ref().map_or(0, |s| s.sensitive.len() + 1);
                if weight(&schema) > weight(&e.1) {
                    e.1 = schema;
                }
            }
            if blob.is_binary() {
                continue;
            }
            let mut local = Vec::new();
            let mut allowed = 0;
            let dropped = scan_bytes(
                blob.content(),
                rel,
                FileKind::of(rel),
                &mut local,
                &mut allowed,
            );
            if dropped > 0 {
                *overflow.entry(rel.to_string()).or_default() += dropped;
            }
            for f in local.into_iter().filter(|f| f.family() == "secret") {
                // Still in the file at HEAD: the tree scan reports it already.
                if current.contains(&f.fingerprint) {
                    continue;
                }
                let key = (rel.to_string(), f.fingerprint.clone());
                if !seen_values.contains_key(&key) {
                    let n = per_file.entry(rel.to_string()).or_default();
                    if *n >= CAP_PER_FILE_RULE {
                        *overflow.entry(rel.to_string()).or_default() += 1;
                        continue;
                    }
                    *n += 1;
                }
                let e = seen_values
                    .entry((rel.to_string(), f.fingerprint.clone()))
                    .or_insert_with(|| (f, Vec::new(), 0));
                e.2 += 1;
                if e.1.last() != Some(&oid) && e.1.len() < 4 {
                    e.1.push(oid);
                }
            }
        }
    }
    // One finding per (file, value), with the commit that introduced it and the count of
    // commits whose version of the file holds it.
    for ((rel, _), (f, shown, n)) in seen_values {
        let first = shown[0];
        let mut msg = format!("{} in commit {}", f.message, &first.to_string()[..12]);
        if n > 1 {
            let later: Vec<String> = shown[1..]
                .iter()
                .map(|c| c.to_string()[..12].to_string())
                .collect();
            msg = format!(
                "{} in {n} commits since {}{}",
                f.message,
                &first.to_string()[..12],
                if later.is_empty() {
                    String::new()
                } else {
                    format!(
                        " (also {}{})",
                        later.join(", "),
                        if n > shown.len() { ", …" } else { "" }
                    )
                }
            );
        }
        let at_head = head_tree.as_ref().is_some_and(|t| {
            t.get_path(Path::new(&format!("{}{rel}", view.prefix)))
                .is_ok()
        });
        msg.push_str(if at_head {
            "; no longer in the file"
        } else {
            "; file deleted since"
        });
        let mut h = Finding::new(RuleId::GitHistorySecret, &rel, f.line, msg);
        h.severity = f.severity;
        h.secret = f.secret;
        h.key_on(&f.fingerprint);
        h.commit = Some(first.to_string());
        h.column = f.column;
        findings.push(h);
    }
    for (rel, n) in overflow {
        let mut f = Finding::new(
            RuleId::GitHistorySecret,
            &rel,
            None,
            format!(
                "{n} more secrets in this file's history are not listed (the first {CAP_PER_FILE_RULE} values are; a value in several commits may count more than once)"
            ),
        );
        f.key_on("more findings");
        findings.push(f);
    }
    for (rel, oid) in envs {
        let at_head = head_tree.as_ref().is_some_and(|t| {
            t.get_path(Path::new(&format!("{}{rel}", view.prefix)))
                .is_ok()
        });
        if at_head {
            continue; // tracked now: `git.env-tracked` reports it
        }
        let short = &oid.to_string()[..12];
        let name = rel.rsplit('/').next().unwrap_or(&rel);
        let mut f = Finding::new(
            RuleId::GitHistoryEnv,
            &rel,
            None,
            format!("{name} was committed in {short} and removed from the repository since: every clone still has its values"),
        );
        f.commit = Some(oid.to_string());
        findings.push(f);
    }
    for (rel, (oid, schema)) in dbs {
        let at_head = head_tree.as_ref().is_some_and(|t| {
            t.get_path(Path::new(&format!("{}{rel}", view.prefix)))
                .is_ok()
        });
        if at_head {
            continue; // tracked now: the tree's `git.database-file` reports it
        }
        let short = &oid.to_string()[..12];
        let name = rel.rsplit('/').next().unwrap_or(&rel);
        let state = format!(
            "was committed in {short} and removed from the repository since (every clone still has it)"
        );
        let (severity, message) = database_verdict(name, schema, &state);
        let mut f = Finding::new(RuleId::GitDatabaseFile, &rel, None, message).severity(severity);
        f.commit = Some(oid.to_string());
        findings.push(f);
    }
    if unreadable > 0 {
        errors.push(ScanError {
            path: ".git".into(),
            message: format!(
                "{unreadable} git object(s) could not be read: history was scanned only in part"
            ),
        });
    }
    commits
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_schema_names_the_tables_that_hold_credentials() {
        let mut db = SQLITE_MAGIC.to_vec();
        db.resize(100, 0);
        for stmt in [
            "CREATE TABLE products (id INTEGER, name TEXT, CONSTRAINT pk PRIMARY KEY (id))",
            "CREATE TABLE \"oauth_clients\" (client_id TEXT, client_secret TEXT)",
            "CREATE TABLE [users] (id integer, email text, \"password_hash\" text)",
            "CREATE TABLE usage (id INTEGER, token_count INTEGER, model TEXT)",
            "CREATE TABLE sqlite_sequence(name,seq)",
        ] {
            db.extend_from_slice(&[0x81, 0x17, 0x02]);
            db.extend_from_slice(stmt.as_bytes());
        }
        let s = sqlite_schema(&db).unwrap();
        assert_eq!(s.tables, ["products", "oauth_clients", "users", "usage"]);
        assert_eq!(s.sensitive, ["oauth_clients", "users (password_hash)"]);
        assert_eq!(sqlite_schema(b"{\"_id\": 1}"), None);
        assert!(!is_database_file("Thumbs.db"));
        assert!(is_database_file("app.db"));
    }

    #[test]
    fn env_files_by_name() {
        for n in [".env", ".env.local", ".env.production", "prod.env"] {
            assert!(is_env_file(n), "{n}");
        }
        for n in [
            ".env.example",
            ".env.example.env",
            "config.sample.env",
            ".env.sample",
            ".env.template",
            "environment.py",
            ".envrc",
        ] {
            assert!(!is_env_file(n), "{n}");
        }
    }
}
