//! The scan itself: a parallel, gitignore-aware walk (the `ignore` crate) feeding every text file
//! through the secret and code checks in bounded chunks (huge files are never read whole), then the
//! structural checks on the manifest and the OpenAPI documents it points to, the git checks, and
//! finally severities (public files weigh more) and suppressions (config, baseline).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use ignore::{WalkBuilder, WalkState};

use super::code;
use super::config::Config;
use super::finding::{Finding, Report, RuleId, ScanError, Severity};
use super::gitcheck::{self, Ignores};
use super::manifest::{self, ManifestInfo};
use super::mcp;
use super::openapi;
use super::secrets;
use crate::error::Error;

/// What to scan and how.
#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    /// Also scan every commit reachable from any ref.
    pub history: bool,
    /// Scan files `.gitignore` excludes too.
    pub no_ignore: bool,
    /// The manifest to check (default: every `ai-plugin.json` found).
    pub manifest: Option<PathBuf>,
    /// The config file (default: `<root>/.plugsmith-audit.toml` when present).
    pub config: Option<PathBuf>,
    /// A baseline (JSON output of an earlier run); overrides the config's.
    pub baseline: Option<PathBuf>,
    /// Worker threads for the walk; 0 = one per core.
    pub threads: usize,
}

const CHUNK: usize = 1 << 20;
const STRUCTURED_MAX: u64 = 8 << 20;
/// Findings kept per (file, rule); beyond it one summary finding gives the count. A file dense
/// with `password=` lines costs bounded memory and output.
pub const CAP_PER_FILE_RULE: usize = 100;

/// Counts findings per rule for one file and admits the first [`CAP_PER_FILE_RULE`].
#[derive(Default)]
pub struct Capper {
    counts: HashMap<RuleId, (usize, Severity)>,
}

impl Capper {
    /// Moves the admitted findings of `new` into `out`.
    pub fn admit(&mut self, new: Vec<Finding>, out: &mut Vec<Finding>) {
        for f in new {
            let e = self.counts.entry(f.rule).or_insert((0, Severity::Low));
            e.0 += 1;
            if e.0 <= CAP_PER_FILE_RULE {
                out.push(f);
            } else {
                e.1 = e.1.max(f.severity);
            }
        }
    }

    /// How many findings were left out, all rules together.
    pub fn dropped(&self) -> usize {
        self.counts
            .values()
            .map(|(n, _)| n.saturating_sub(CAP_PER_FILE_RULE))
            .sum()
    }

    /// One finding per rule that went over the cap.
    pub fn summaries(self, rel: &str, out: &mut Vec<Finding>) {
        let mut over: Vec<_> = self
            .counts
            .into_iter()
            .filter(|(_, (n, _))| *n > CAP_PER_FILE_RULE)
            .collect();
        over.sort();
        for (rule, (n, sev)) in over {
            let mut f = Finding::new(
                rule,
                rel,
                None,
                format!(
                    "{} more {rule} findings in this file are not listed (the first {CAP_PER_FILE_RULE} are)",
                    n - CAP_PER_FILE_RULE
                ),
            )
            .severity(sev);
            f.key_on("more findings");
            out.push(f);
        }
    }
}

/// How a file is treated by the line checks.
#[derive(Debug, Clone, Copy)]
pub struct FileKind {
    pub code: bool,
    /// Code or config the MCP authorization heuristics read.
    pub mcp: bool,
}

impl FileKind {
    pub fn of(rel: &str) -> FileKind {
        FileKind {
            code: code::is_code(rel),
            mcp: mcp::applies(rel),
        }
    }
}

/// Runs the secret and code checks over one chunk of text starting at `first_line`.
fn scan_chunk(
    chunk: &[u8],
    first_line: usize,
    rel: &str,
    kind: FileKind,
    out: &mut Vec<Finding>,
    allowed: &mut u64,
) {
    let mut hits = Vec::new();
    secrets::scan_chunk(chunk, first_line, &mut hits, allowed);
    for h in hits {
        let mut f = Finding::new(h.rule, rel, Some(h.line), h.what.clone())
            .column(h.column)
            .with_secret(&h.value);
        if let Some(sev) = h.severity {
            f.severity = sev;
        }
        out.push(f);
    }
    if !kind.code && !kind.mcp {
        return;
    }
    let text = String::from_utf8_lossy(chunk);
    let mut hits = Vec::new();
    code::scan_with(&text, first_line, kind.code, kind.mcp, &mut hits);
    // Timing of a comparison in test code leaks nothing.
    let test = code::is_test_path(rel);
    for h in hits
        .into_iter()
        .filter(|h| !(test && h.rule == RuleId::CodeInsecureCompare))
    {
        out.push(Finding::new(h.rule, rel, Some(h.line), h.message));
    }
}

/// Scans bytes already in memory (git blobs) in chunks cut at line ends, keeping at most
/// [`CAP_PER_FILE_RULE`] findings per rule; returns how many it left out.
pub fn scan_bytes(
    data: &[u8],
    rel: &str,
    kind: FileKind,
    out: &mut Vec<Finding>,
    allowed: &mut u64,
) -> usize {
    let mut capper = Capper::default();
    let mut line = 1usize;
    let mut rest = data;
    while !rest.is_empty() {
        let cut = if rest.len() <= CHUNK {
            rest.len()
        } else {
            rest[..CHUNK]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(CHUNK.min(rest.len()), |i| i + 1)
        };
        let mut local = Vec::new();
        scan_chunk(&rest[..cut], line, rel, kind, &mut local, allowed);
        capper.admit(local, out);
        line += rest[..cut].iter().filter(|&&b| b == b'\n').count();
        rest = &rest[cut..];
    }
    capper.dropped()
}

enum FileOutcome {
    Text(u64),
    Binary,
}

/// Appends up to `CHUNK` bytes; fewer only at the end of the file.
fn read_chunk(f: &mut File, data: &mut Vec<u8>) -> std::io::Result<usize> {
    f.take(CHUNK as u64).read_to_end(data)
}

/// Streams a file through the line checks in chunks cut at line ends.
fn scan_file(
    abs: &Path,
    rel: &str,
    out: &mut Vec<Finding>,
    allowed: &mut u64,
) -> std::io::Result<FileOutcome> {
    let kind = FileKind::of(rel);
    let mut f = File::open(abs)?;
    let mut data: Vec<u8> = Vec::new();
    let mut line = 1usize;
    let mut total = 0u64;
    let mut first = true;
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let mut capper = Capper::default();
    data.reserve(usize::try_from(len).unwrap_or(CHUNK).min(CHUNK) + 1);
    loop {
        // `read_to_end` on a `Take` appends without zero-filling a buffer first.
        let n = read_chunk(&mut f, &mut data)?;
        total += n as u64;
        let eof = n < CHUNK;
        if first {
            first = false;
            if data[..data.len().min(8192)].contains(&0) {
                return Ok(FileOutcome::Binary);
            }
        }
        let cut = if eof {
            data.len()
        } else {
            match data.iter().rposition(|&b| b == b'\n') {
                Some(i) => i + 1,
                None if data.len() >= 4 * CHUNK => data.len(),
                None => continue,
            }
        };
        let mut local = Vec::new();
        scan_chunk(&data[..cut], line, rel, kind, &mut local, allowed);
        capper.admit(local, out);
        line += data[..cut].iter().filter(|&&b| b == b'\n').count();
        data.drain(..cut);
        if eof {
            capper.summaries(rel, out);
            return Ok(FileOutcome::Text(total));
        }
    }
}

fn rel_of(root: &Path, path: &Path) -> String {
    let r = path.strip_prefix(root).unwrap_or(path);
    let s = r.to_string_lossy().replace('\\', "/");
    if s.is_empty() {
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    } else {
        s
    }
}

/// A folder of examples or samples: its manifests and specs are not the deployed ones.
fn example_dir(rel: &str) -> bool {
    rel.split('/')
        .rev()
        .skip(1)
        .any(|c| matches!(c, "examples" | "example" | "samples" | "sample"))
}

/// A path anyone can fetch from a deployed plugin.
fn public_dir(rel: &str) -> bool {
    rel.split('/')
        .rev()
        .skip(1)
        .any(|c| matches!(c, ".well-known" | "static" | "public"))
}

fn is_manifest_name(name: &str) -> bool {
    matches!(name, "ai-plugin.json" | "ai-plugins.json")
}

fn is_spec_name(name: &str) -> bool {
    let l = name.to_ascii_lowercase();
    (l.contains("openapi") || l.contains("swagger") || l == "ai-plugin-api.yaml")
        && (l.ends_with(".json") || l.ends_with(".yaml") || l.ends_with(".yml"))
}

struct Shared {
    findings: Mutex<Vec<Finding>>,
    errors: Mutex<Vec<ScanError>>,
    paths: Mutex<Vec<String>>,
    files: AtomicU64,
    bytes: AtomicU64,
    binary: AtomicU64,
    allowed: AtomicU64,
}

impl Shared {
    fn scan_one(&self, abs: &Path, rel: String) {
        let mut local = Vec::new();
        let mut allowed = 0;
        match scan_file(abs, &rel, &mut local, &mut allowed) {
            Ok(FileOutcome::Text(n)) => {
                self.files.fetch_add(1, Ordering::Relaxed);
                self.bytes.fetch_add(n, Ordering::Relaxed);
            }
            Ok(FileOutcome::Binary) => {
                self.binary.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => self.errors.lock().expect("lock").push(ScanError {
                path: rel.clone(),
                message: format!("cannot read: {e}"),
            }),
        }
        if allowed > 0 {
            self.allowed.fetch_add(allowed, Ordering::Relaxed);
        }
        if !local.is_empty() {
            self.findings.lock().expect("lock").extend(local);
        }
        self.paths.lock().expect("lock").push(rel);
    }
}

/// Scans `root` (a directory or one file). Errors only for what makes the scan impossible (a
/// missing root, a bad config or baseline); unreadable files are listed in `Report::errors`.
pub fn scan(root: &Path, options: &ScanOptions) -> Result<Report, Error> {
    let meta = std::fs::metadata(root).map_err(|e| Error::io("scan", root, e))?;
    let config = Config::load(root, options.config.as_deref(), options.baseline.as_deref())?;
    if let Some(m) = &options.manifest {
        std::fs::metadata(m).map_err(|e| Error::io("read the manifest", m, e))?;
    }
    let ign = Ignores::open(root);
    let shared = Shared {
        findings: Mutex::new(Vec::new()),
        errors: Mutex::new(Vec::new()),
        paths: Mutex::new(Vec::new()),
        files: AtomicU64::new(0),
        bytes: AtomicU64::new(0),
        binary: AtomicU64::new(0),
        allowed: AtomicU64::new(0),
    };

    // 1. walk + line checks
    let honour = !options.no_ignore;
    let mut wb = WalkBuilder::new(root);
    wb.hidden(false)
        .git_ignore(honour)
        .git_exclude(honour)
        .git_global(false)
        .ignore(honour)
        .parents(honour)
        .require_git(false)
        .follow_links(false)
        .threads(options.threads);
    wb.filter_entry(|e| e.file_name() != ".git");
    let walker = wb.build_parallel();
    let root_buf = root.to_path_buf();
    walker.run(|| {
        let shared = &shared;
        let config = &config;
        let root = &root_buf;
        Box::new(move |entry| {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    shared.errors.lock().expect("lock").push(ScanError {
                        path: String::new(),
                        message: e.to_string(),
                    });
                    return WalkState::Continue;
                }
            };
            let rel = rel_of(root, entry.path());
            let ft = entry.file_type();
            if ft.is_some_and(|t| t.is_dir()) {
                if !rel.is_empty()
                    && entry.depth() > 0
                    && config.path_fully_allowed(&format!("{rel}/\u{1}/\u{1}"))
                {
                    return WalkState::Skip;
                }
                return WalkState::Continue;
            }
            if !ft.is_some_and(|t| t.is_file()) || config.path_fully_allowed(&rel) {
                return WalkState::Continue;
            }
            shared.scan_one(entry.path(), rel);
            WalkState::Continue
        })
    });

    // Files an ignore rule hides but git tracks anyway.
    if honour && meta.is_dir() {
        let seen: HashSet<String> = shared.paths.lock().expect("lock").iter().cloned().collect();
        for t in ign.tracked() {
            if seen.contains(&t)
                || t.split('/').any(|c| c == ".git")
                || config.path_fully_allowed(&t)
            {
                continue;
            }
            let abs = root.join(&t);
            if abs.is_file() {
                shared.scan_one(&abs, t);
            }
        }
    }

    let mut findings = shared.findings.into_inner().expect("lock");
    let mut errors = shared.errors.into_inner().expect("lock");
    let mut paths = shared.paths.into_inner().expect("lock");
    paths.sort();
    let path_set: HashSet<&str> = paths.iter().map(String::as_str).collect();

    // 2. manifests and OpenAPI documents
    let mut public: HashSet<String> = HashSet::new();
    let read_small = |rel: &str, abs: &Path, errors: &mut Vec<ScanError>| -> Option<String> {
        match std::fs::metadata(abs) {
            Ok(m) if m.len() > STRUCTURED_MAX => {
                errors.push(ScanError {
                    path: rel.to_string(),
                    message: "too large to check structurally".into(),
                });
                None
            }
            Ok(_) => match std::fs::read(abs) {
                Ok(b) => Some(
                    String::from_utf8_lossy(&b)
                        .trim_start_matches('\u{feff}')
                        .to_string(),
                ),
                Err(e) => {
                    errors.push(ScanError {
                        path: rel.to_string(),
                        message: format!("cannot read: {e}"),
                    });
                    None
                }
            },
            Err(e) => {
                errors.push(ScanError {
                    path: rel.to_string(),
                    message: format!("cannot read: {e}"),
                });
                None
            }
        }
    };
    let abs_of = |rel: &str| {
        if meta.is_dir() {
            root.join(rel)
        } else {
            root.to_path_buf()
        }
    };
    let mut manifests: Vec<(String, PathBuf)> = paths
        .iter()
        .filter(|p| is_manifest_name(p.rsplit('/').next().unwrap_or(p)))
        .map(|p| (p.clone(), abs_of(p)))
        .collect();
    if let Some(m) = &options.manifest {
        let rel = m
            .canonicalize()
            .ok()
            .and_then(|c| {
                root.canonicalize().ok().and_then(|r| {
                    c.strip_prefix(r)
                        .ok()
                        .map(|x| x.to_string_lossy().replace('\\', "/"))
                })
            })
            .unwrap_or_else(|| m.to_string_lossy().into_owned());
        manifests = vec![(rel, m.clone())];
    }
    let mut paired: HashMap<String, ManifestInfo> = HashMap::new();
    let mut infos: Vec<ManifestInfo> = Vec::new();
    for (rel, abs) in &manifests {
        let Some(text) = read_small(rel, abs, &mut errors) else {
            continue;
        };
        public.insert(rel.clone());
        let (f, info) = manifest::check(rel, &text);
        findings.extend(f);
        if let Some(info) = info {
            // Whatever the manifest points at is served to anyone.
            for u in &info.urls {
                if let Some(p) = resolve_spec(rel, u, &path_set) {
                    public.insert(p);
                }
            }
            if let Some(spec) = info
                .api_url
                .as_deref()
                .and_then(|u| resolve_spec(rel, u, &path_set))
            {
                paired.insert(spec, info.clone());
            }
            infos.push(info);
        }
    }
    let specs: Vec<String> = paths
        .iter()
        .filter(|p| is_spec_name(p.rsplit('/').next().unwrap_or(p)))
        .cloned()
        .chain(paired.keys().cloned())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    for rel in specs {
        let Some(text) = read_small(&rel, &abs_of(&rel), &mut errors) else {
            continue;
        };
        let m = paired.get(&rel);
        if m.is_none() {
            // An unreferenced file named like a spec counts only if it is one.
            match openapi::parse(&rel, &text) {
                Ok(v) if openapi::is_openapi(&v) => {}
                Ok(_) => continue,
                Err(_) if !rel.to_ascii_lowercase().contains("openapi") => continue,
                Err(_) => {}
            }
        }
        public.insert(rel.clone());
        let (f, writes) = openapi::check(&rel, &text, m);
        findings.extend(f);
        if let Some(m) = m {
            let dangers = if m.auth_type.as_deref() == Some("none") {
                openapi::dangers(&rel, &text)
            } else {
                Vec::new()
            };
            if !dangers.is_empty() {
                let text_m = std::fs::read_to_string(abs_of(&m.path)).unwrap_or_default();
                let shown: Vec<&str> = dangers.iter().take(5).map(String::as_str).collect();
                findings.push(Finding::new(
                    RuleId::ManifestAuthNoneDangerous,
                    &m.path,
                    manifest::line_of(&text_m, "\"auth\""),
                    format!(
                        "auth is none but {rel} has operations anyone can call: {}{}",
                        shown.join(", "),
                        if m.localhost {
                            " (localhost too: any web page and any prompt injection reach it)"
                        } else {
                            ""
                        }
                    ),
                ));
            }
            if m.auth_type.as_deref() == Some("none") && !writes.is_empty() {
                let list: Vec<String> = writes
                    .iter()
                    .take(5)
                    .map(|w| format!("{} {}", w.method, w.path))
                    .collect();
                let more = if writes.len() > 5 {
                    format!(" and {} more", writes.len() - 5)
                } else {
                    String::new()
                };
                let text_m = std::fs::read_to_string(abs_of(&m.path)).unwrap_or_default();
                let mut f = Finding::new(
                    RuleId::ManifestAuthNoneWrites,
                    &m.path,
                    manifest::line_of(&text_m, "\"auth\""),
                    format!(
                        "auth is none but {} changes state: {}{more}",
                        rel,
                        list.join(", ")
                    ),
                );
                if m.localhost {
                    f.severity = Severity::Low;
                    f.message.push_str(" (localhost development manifest)");
                }
                findings.push(f);
            }
        }
    }
    drop(infos);

    // 3. git: .env and key files, then history
    for p in &paths {
        findings.extend(gitcheck::file_findings(&ign, p));
    }
    let mut commits = 0;
    if options.history {
        match ign.repo() {
            Some(view) => {
                commits = gitcheck::history(
                    view,
                    &|p| config.path_fully_allowed(p),
                    &mut findings,
                    &mut errors,
                );
            }
            None => errors.push(ScanError {
                path: rel_of(root, root),
                message: "--history: not inside a git repository".into(),
            }),
        }
    }

    // 4. severities: public files weigh more; ignored, untracked files stay local
    let mut ignored_cache: BTreeMap<String, bool> = BTreeMap::new();
    let secret_lines: HashSet<(String, Option<usize>)> = findings
        .iter()
        .filter(|f| f.rule == RuleId::ManifestSecretInAuth)
        .map(|f| (f.path.clone(), f.line))
        .collect();
    findings
        .retain(|f| !(f.family() == "secret" && secret_lines.contains(&(f.path.clone(), f.line))));
    for f in findings.iter_mut().filter(|f| f.family() == "secret") {
        if public.contains(&f.path) || public_dir(&f.path) {
            f.severity = f.severity.raise();
            f.message.push_str(" in a public file (served to anyone)");
        } else if options.no_ignore {
            let ignored = *ignored_cache
                .entry(f.path.clone())
                .or_insert_with(|| ign.is_ignored(&f.path) && !ign.is_tracked(&f.path));
            if ignored {
                f.severity = Severity::Low;
                f.message.push_str(" (git-ignored file: stays local)");
            }
        }
    }

    // Example manifests and specs (under examples/, samples/) weigh one level less.
    for f in findings
        .iter_mut()
        .filter(|f| matches!(f.family(), "manifest" | "openapi") && example_dir(&f.path))
    {
        f.severity = f.severity.lower();
        f.message.push_str(" (in an example)");
    }

    // 5. suppressions, order, duplicates
    let before = findings.len() as u64;
    findings.retain(|f| !config.suppresses(f));
    let suppressed = before - findings.len() as u64 + shared.allowed.load(Ordering::Relaxed);
    findings.sort_by(|a, b| {
        (&a.path, a.line, a.column, &a.rule, &a.commit)
            .cmp(&(&b.path, b.line, b.column, &b.rule, &b.commit))
    });
    findings.dedup_by(|a, b| {
        a.path == b.path
            && a.line == b.line
            && a.column == b.column
            && a.rule == b.rule
            && a.fingerprint == b.fingerprint
    });
    errors.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Report {
        findings,
        errors,
        files_scanned: shared.files.load(Ordering::Relaxed),
        bytes_scanned: shared.bytes.load(Ordering::Relaxed),
        binary_skipped: shared.binary.load(Ordering::Relaxed),
        suppressed,
        commits_scanned: commits,
    })
}

/// The walked file a manifest URL (`api.url`, `logo_url`…) points at, looked up the ways plugins are served: beside the
/// manifest, one level up from `.well-known/`, from the root, `static/` or `public/`, then by name.
fn resolve_spec(manifest_rel: &str, url: &str, paths: &HashSet<&str>) -> Option<String> {
    let after_host = match url.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("", |i| &rest[i..]),
        None => url,
    };
    let p = after_host
        .split(['?', '#'])
        .next()
        .unwrap_or("")
        .trim_start_matches('/');
    if p.is_empty() {
        return None;
    }
    let dir = manifest_rel.rsplit_once('/').map_or("", |(d, _)| d);
    let join = |a: &str, b: &str| match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_string(),
        (_, true) => a.to_string(),
        _ => format!("{a}/{b}"),
    };
    // The manifest's own folder (and the one above `.well-known/`) first, with their static/ and
    // public/, then each folder further up: a spec of another plugin higher up never wins over
    // the one beside the manifest.
    let mut home = vec![dir.to_string()];
    if let Some(parent) = dir.strip_suffix(".well-known") {
        home.push(parent.trim_end_matches('/').to_string());
    }
    let mut bases: Vec<String> = Vec::new();
    for h in &home {
        for sub in ["", "static", "public"] {
            bases.push(join(h, sub));
        }
    }
    let mut up = home.last().cloned().unwrap_or_default();
    while !up.is_empty() {
        up = up
            .rsplit_once('/')
            .map_or(String::new(), |(d, _)| d.to_string());
        for sub in ["", "static", "public"] {
            bases.push(join(&up, sub));
        }
    }
    for b in &bases {
        let cand = join(b, p);
        if paths.contains(cand.as_str()) {
            return Some(cand);
        }
    }
    // By name: the file of that name nearest the manifest (most leading folders in common).
    let name = p.rsplit('/').next().unwrap_or(p);
    let common = |x: &str| {
        let xd = x.rsplit_once('/').map_or("", |(d, _)| d);
        xd.split('/')
            .zip(dir.split('/'))
            .take_while(|(a, b)| a == b && !a.is_empty())
            .count()
    };
    let mut same: Vec<(usize, &str)> = paths
        .iter()
        .filter(|x| x.rsplit('/').next() == Some(name))
        .map(|x| (common(x), *x))
        .collect();
    same.sort_unstable_by_key(|x| std::cmp::Reverse(x.0));
    match same.as_slice() {
        [only] => Some(only.1.to_string()),
        [a, b, ..] if a.0 > b.0 => Some(a.1.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_dirs_are_detected() {
        assert!(public_dir(".well-known/ai-plugin.json"));
        assert!(public_dir("app/static/x.js"));
        assert!(!public_dir("app/main.py"));
        assert!(!public_dir("public"));
    }

    #[test]
    fn the_spec_nearest_the_manifest_wins() {
        // A root spec of another plugin does not shadow the one under the manifest's own static/.
        let paths: HashSet<&str> = ["openapi.yaml", "b/ai-plugin.json", "b/static/openapi.yaml"]
            .into_iter()
            .collect();
        assert_eq!(
            resolve_spec("b/ai-plugin.json", "https://b.dev/openapi.yaml", &paths).as_deref(),
            Some("b/static/openapi.yaml")
        );
        // By name: of several specs with the name, the one in the manifest's own folder.
        let paths: HashSet<&str> = [
            "a/spec/openapi.yaml",
            "b/spec/openapi.yaml",
            "b/.well-known/ai-plugin.json",
        ]
        .into_iter()
        .collect();
        assert_eq!(
            resolve_spec(
                "b/.well-known/ai-plugin.json",
                "https://b.dev/v1/openapi.yaml",
                &paths
            )
            .as_deref(),
            Some("b/spec/openapi.yaml")
        );
    }

    #[test]
    fn spec_is_resolved_relative_to_the_manifest() {
        let paths: HashSet<&str> = ["static/.well-known/ai-plugin.json", "static/openapi.yaml"]
            .into_iter()
            .collect();
        assert_eq!(
            resolve_spec(
                "static/.well-known/ai-plugin.json",
                "https://x.dev/openapi.yaml",
                &paths
            )
            .as_deref(),
            Some("static/openapi.yaml")
        );
    }
}
