//! The scan itself, in phases (see [`scan`]): a parallel, gitignore-aware walk (the `ignore`
//! crate) feeding every text file through the secret and code checks in bounded chunks (huge files
//! are never read whole), then the structural checks on each manifest and OpenAPI document, the
//! cross-file checks of a manifest against its spec, the git checks, and finally severities
//! (public files weigh more) and suppressions (config, baseline).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
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
    let test = code::is_test_path(rel);
    // Templated metadata URIs and the endpoint flows: a test's fixtures and mock authorization
    // servers are not the server's own (literal URIs are still checked there, line by line).
    if kind.mcp && !test {
        mcp::template_hits(&text, first_line, &mut hits);
        if kind.code {
            mcp::flow_hits(&text, first_line, &mut hits);
        }
    }
    // Timing of a comparison in test code leaks nothing; a client's code decodes tokens it
    // holds (its own caches), not tokens presented to it, and sends a PKCE verifier rather than
    // checking one.
    let client = code::is_client_path(rel);
    for h in hits.into_iter().filter(|h| {
        !(test && h.rule == RuleId::CodeInsecureCompare
            || client
                && matches!(
                    h.rule,
                    RuleId::McpNoAudienceCheck
                        | RuleId::McpPkceOptional
                        | RuleId::McpRedirectUnchecked
                ))
    }) {
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
    /// A NUL byte in the first 8 KiB; `sqlite`: the file starts with the SQLite header.
    Binary {
        sqlite: bool,
    },
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
    metadata: &mut Vec<mcp::MetadataUri>,
) -> std::io::Result<FileOutcome> {
    let kind = FileKind::of(rel);
    // Issuer URIs for the cross-file check; a test's fixtures are not the server's metadata.
    let issuers = kind.mcp && !code::is_test_path(rel);
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
                return Ok(FileOutcome::Binary {
                    sqlite: data.starts_with(gitcheck::SQLITE_MAGIC),
                });
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
        if issuers {
            mcp::metadata_uris(&data[..cut], line, metadata);
        }
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

/// A YAML or JSON file named otherwise (`canvas-actions.yml`) whose first lines declare
/// `openapi: 3…` at the top level: a spec all the same (it is then parsed to make sure).
fn declares_openapi(name: &str, abs: &std::path::Path) -> bool {
    use std::io::Read;
    static TOP: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r#"(?m)^(?:\{\s*)?["']?openapi["']?\s*:\s*["']?3\."#)
            .expect("valid regex")
    });
    let l = name.to_ascii_lowercase();
    if !(l.ends_with(".yaml") || l.ends_with(".yml") || l.ends_with(".json")) {
        return false;
    }
    let mut head = [0u8; 1024];
    let n = std::fs::File::open(abs)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    TOP.is_match(&String::from_utf8_lossy(&head[..n]))
}

struct Shared {
    findings: Mutex<Vec<Finding>>,
    metadata: Mutex<Vec<(String, mcp::MetadataUri)>>,
    errors: Mutex<Vec<ScanError>>,
    paths: Mutex<Vec<String>>,
    sqlite: Mutex<HashSet<String>>,
    files: AtomicU64,
    bytes: AtomicU64,
    binary: AtomicU64,
    allowed: AtomicU64,
}

impl Shared {
    fn scan_one(&self, abs: &Path, rel: String) {
        let mut local = Vec::new();
        let mut allowed = 0;
        let mut metadata = Vec::new();
        match scan_file(abs, &rel, &mut local, &mut allowed, &mut metadata) {
            Ok(FileOutcome::Text(n)) => {
                self.files.fetch_add(1, Ordering::Relaxed);
                self.bytes.fetch_add(n, Ordering::Relaxed);
            }
            Ok(FileOutcome::Binary { sqlite }) => {
                self.binary.fetch_add(1, Ordering::Relaxed);
                if sqlite {
                    self.sqlite.lock().expect("lock").insert(rel.clone());
                }
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
        if !metadata.is_empty() {
            let mut m = self.metadata.lock().expect("lock");
            m.extend(metadata.into_iter().map(|u| (rel.clone(), u)));
        }
        self.paths.lock().expect("lock").push(rel);
    }
}

/// Scans `root` (a directory or one file). Errors only for what makes the scan impossible (a
/// missing root, a bad config or baseline); unreadable files are listed in `Report::errors`.
///
/// The phases, in order: `walk` (every file through the line checks), `check_structure` (each
/// manifest and OpenAPI document on its own), `cross_file` (a manifest against the spec it points
/// to), `git_checks` (tracked `.env` and key files, then `--history`), `weigh` (severities by
/// where a finding is) and `finish` (suppressions, order, duplicates).
pub fn scan(root: &Path, options: &ScanOptions) -> Result<Report, Error> {
    let meta = std::fs::metadata(root).map_err(|e| Error::io("scan", root, e))?;
    let config = Config::load(root, options.config.as_deref(), options.baseline.as_deref())?;
    if let Some(m) = &options.manifest {
        std::fs::metadata(m).map_err(|e| Error::io("read the manifest", m, e))?;
    }
    let ign = Ignores::open(root);
    let files = Files {
        root,
        is_dir: meta.is_dir(),
    };

    let mut walked = walk(&files, options, &config, &ign);
    let structure = check_structure(
        &files,
        &walked.paths,
        options.manifest.as_deref(),
        &mut walked.findings,
        &mut walked.errors,
    );
    walked.findings.extend(cross_file(&files, &structure.pairs));
    walked.findings.extend(issuer_mismatches(&walked.metadata));
    let commits = git_checks(&files, options, &config, &ign, &mut walked);
    weigh(
        &mut walked.findings,
        &structure.public,
        options.no_ignore,
        &ign,
    );
    Ok(finish(walked, &config, commits))
}

/// The scanned root and how a walked path maps back to a file.
struct Files<'a> {
    root: &'a Path,
    /// `root` is a directory (else the one file scanned).
    is_dir: bool,
}

impl Files<'_> {
    fn abs_of(&self, rel: &str) -> PathBuf {
        if self.is_dir {
            self.root.join(rel)
        } else {
            self.root.to_path_buf()
        }
    }

    /// A manifest or spec read whole for the structural checks (BOM dropped, lossy UTF-8), or
    /// the reason it cannot be in `errors`.
    fn read_small(&self, rel: &str, abs: &Path, errors: &mut Vec<ScanError>) -> Option<String> {
        let cannot_read = |e: std::io::Error| ScanError {
            path: rel.to_string(),
            message: format!("cannot read: {e}"),
        };
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
                    errors.push(cannot_read(e));
                    None
                }
            },
            Err(e) => {
                errors.push(cannot_read(e));
                None
            }
        }
    }
}

/// What the walk saw: the line checks' findings, files it could not read, counts, and every
/// path it scanned (sorted); the later phases add to `findings` and `errors`.
struct Walked {
    findings: Vec<Finding>,
    errors: Vec<ScanError>,
    paths: Vec<String>,
    /// Paths of files that start with the SQLite header.
    sqlite: HashSet<String>,
    /// Issuer URIs declared or named in the scanned files, with their paths.
    metadata: Vec<(String, mcp::MetadataUri)>,
    files: u64,
    bytes: u64,
    binary: u64,
    /// Findings dropped by the allow marker on their line.
    allowed: u64,
}

/// Phase 1: a parallel, gitignore-aware walk sending every file through the line checks (secrets,
/// code and MCP heuristics), then the files an ignore rule hides but git tracks anyway.
fn walk(files: &Files, options: &ScanOptions, config: &Config, ign: &Ignores) -> Walked {
    let root = files.root;
    let shared = Shared {
        findings: Mutex::new(Vec::new()),
        metadata: Mutex::new(Vec::new()),
        errors: Mutex::new(Vec::new()),
        paths: Mutex::new(Vec::new()),
        sqlite: Mutex::new(HashSet::new()),
        files: AtomicU64::new(0),
        bytes: AtomicU64::new(0),
        binary: AtomicU64::new(0),
        allowed: AtomicU64::new(0),
    };
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
    walker.run(|| {
        let shared = &shared;
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
    if honour && files.is_dir {
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

    let mut paths = shared.paths.into_inner().expect("lock");
    paths.sort();
    let mut metadata = shared.metadata.into_inner().expect("lock");
    metadata.sort_by(|a, b| (&a.0, a.1.line).cmp(&(&b.0, b.1.line)));
    Walked {
        findings: shared.findings.into_inner().expect("lock"),
        errors: shared.errors.into_inner().expect("lock"),
        paths,
        sqlite: shared.sqlite.into_inner().expect("lock"),
        metadata,
        files: shared.files.into_inner(),
        bytes: shared.bytes.into_inner(),
        binary: shared.binary.into_inner(),
        allowed: shared.allowed.into_inner(),
    }
}

/// A manifest and the spec its `api.url` names, for the cross-file checks.
struct Pair {
    manifest: ManifestInfo,
    spec: String,
    /// The spec's text, kept only when the manifest's auth is `none` (the one case the
    /// cross-file checks read it).
    spec_text: Option<String>,
    /// The spec's write operations.
    writes: Vec<openapi::WriteOp>,
}

/// What the structural checks learnt for the later phases.
struct Structure {
    /// Files anyone can fetch from a deployed plugin: the manifests and what they point at.
    public: HashSet<String>,
    pairs: Vec<Pair>,
}

/// Phase 2: each manifest (every `ai-plugin.json`, or `--manifest`) and each OpenAPI document
/// (named like one, or named by a manifest's `api.url`) checked on its own; a spec a manifest
/// points at is checked against that manifest's auth.
fn check_structure(
    files: &Files,
    paths: &[String],
    explicit_manifest: Option<&Path>,
    findings: &mut Vec<Finding>,
    errors: &mut Vec<ScanError>,
) -> Structure {
    let path_set: HashSet<&str> = paths.iter().map(String::as_str).collect();
    let mut public: HashSet<String> = HashSet::new();
    let mut manifests: Vec<(String, PathBuf)> = paths
        .iter()
        .filter(|p| is_manifest_name(p.rsplit('/').next().unwrap_or(p)))
        .map(|p| (p.clone(), files.abs_of(p)))
        .collect();
    if let Some(m) = explicit_manifest {
        let rel = m
            .canonicalize()
            .ok()
            .and_then(|c| {
                files.root.canonicalize().ok().and_then(|r| {
                    c.strip_prefix(r)
                        .ok()
                        .map(|x| x.to_string_lossy().replace('\\', "/"))
                })
            })
            .unwrap_or_else(|| m.to_string_lossy().into_owned());
        manifests = vec![(rel, m.to_path_buf())];
    }
    let mut paired: HashMap<String, ManifestInfo> = HashMap::new();
    for (rel, abs) in &manifests {
        let Some(text) = files.read_small(rel, abs, errors) else {
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
                paired.insert(spec, info);
            }
        }
    }
    let specs: BTreeSet<String> = paths
        .iter()
        .filter(|p| {
            let name = p.rsplit('/').next().unwrap_or(p);
            is_spec_name(name) || declares_openapi(name, &files.abs_of(p))
        })
        .cloned()
        .chain(paired.keys().cloned())
        .collect();
    let mut pairs = Vec::new();
    for rel in specs {
        let Some(text) = files.read_small(&rel, &files.abs_of(&rel), errors) else {
            continue;
        };
        let m = paired.remove(&rel);
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
        let (f, writes) = openapi::check(&rel, &text, m.as_ref());
        findings.extend(f);
        if let Some(manifest) = m {
            let spec_text = (manifest.auth_type.as_deref() == Some("none")).then_some(text);
            pairs.push(Pair {
                manifest,
                spec: rel,
                spec_text,
                writes,
            });
        }
    }
    Structure { public, pairs }
}

/// Phase 3: a manifest with auth `none` against the spec it points to: operations anyone can
/// call that run commands, delete files or fetch URLs (`manifest.auth-none-dangerous`), and
/// write operations (`manifest.auth-none-writes`, low on a localhost manifest).
fn cross_file(files: &Files, pairs: &[Pair]) -> Vec<Finding> {
    let mut out = Vec::new();
    for p in pairs {
        let (m, rel) = (&p.manifest, &p.spec);
        let Some(spec_text) = &p.spec_text else {
            continue;
        };
        let dangers = openapi::dangers(rel, spec_text);
        if !dangers.is_empty() {
            let text_m = std::fs::read_to_string(files.abs_of(&m.path)).unwrap_or_default();
            let shown: Vec<&str> = dangers.iter().take(5).map(String::as_str).collect();
            out.push(Finding::new(
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
        if !p.writes.is_empty() {
            let list: Vec<String> = p
                .writes
                .iter()
                .take(5)
                .map(|w| format!("{} {}", w.method, w.path))
                .collect();
            let more = if p.writes.len() > 5 {
                format!(" and {} more", p.writes.len() - 5)
            } else {
                String::new()
            };
            let text_m = std::fs::read_to_string(files.abs_of(&m.path)).unwrap_or_default();
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
            out.push(f);
        }
    }
    out
}

/// Phase 3 too: each `authorization_servers` entry against the issuers the project declares
/// (`mcp.issuer-mismatch`), across files.
fn issuer_mismatches(metadata: &[(String, mcp::MetadataUri)]) -> Vec<Finding> {
    let issuers: Vec<(&str, &mcp::MetadataUri)> = metadata
        .iter()
        .filter(|(_, m)| !m.names_issuer)
        .map(|(p, m)| (p.as_str(), m))
        .collect();
    let mut out = Vec::new();
    for (path, entry) in metadata.iter().filter(|(_, m)| m.names_issuer) {
        let Some((ipath, issuer, why)) = mcp::issuer_disagreement(&entry.uri, &issuers) else {
            continue;
        };
        let mut f = Finding::new(
            RuleId::McpIssuerMismatch,
            path,
            Some(entry.line),
            format!(
                "heuristic: authorization_servers names `{}` but the issuer declared in {ipath}:{} is `{}` ({why}: clients compare exactly)",
                entry.uri, issuer.line, issuer.uri
            ),
        );
        // Not the line numbers: moving code must not make a baselined finding new.
        f.key_on(&format!("{} {}", entry.uri, issuer.uri));
        out.push(f);
    }
    out
}

/// Phase 4: `.env` and key files among the walked paths, tracked or not ignored, then, with
/// `--history`, every commit; returns how many commits were read.
fn git_checks(
    files: &Files,
    options: &ScanOptions,
    config: &Config,
    ign: &Ignores,
    walked: &mut Walked,
) -> u64 {
    for p in &walked.paths {
        let sqlite = walked.sqlite.contains(p);
        walked
            .findings
            .extend(gitcheck::file_findings(ign, p, &files.abs_of(p), sqlite));
    }
    if !options.history {
        return 0;
    }
    match ign.repo() {
        Some(view) => gitcheck::history(
            view,
            &|p| config.path_fully_allowed(p),
            &mut walked.findings,
            &mut walked.errors,
        ),
        None => {
            walked.errors.push(ScanError {
                path: rel_of(files.root, files.root),
                message: "--history: not inside a git repository".into(),
            });
            0
        }
    }
}

/// Phase 5: severities by where a finding is. A secret the manifest's own check reported
/// (`manifest.secret-in-auth`) is not reported again; secrets in public files weigh more, in
/// git-ignored untracked files (seen with `--no-ignore`) less; example manifests and specs less.
fn weigh(findings: &mut Vec<Finding>, public: &HashSet<String>, no_ignore: bool, ign: &Ignores) {
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
        } else if no_ignore {
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
}

/// Phase 6: suppressions (config, baseline), order, duplicates; the report.
fn finish(walked: Walked, config: &Config, commits: u64) -> Report {
    let Walked {
        mut findings,
        mut errors,
        files,
        bytes,
        binary,
        allowed,
        paths: _,
        metadata: _,
        sqlite: _,
    } = walked;
    let before = findings.len() as u64;
    findings.retain(|f| !config.suppresses(f));
    let suppressed = before - findings.len() as u64 + allowed;
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
    Report {
        findings,
        errors,
        files_scanned: files,
        bytes_scanned: bytes,
        binary_skipped: binary,
        suppressed,
        commits_scanned: commits,
    }
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
    fn cross_file_reads_the_manifest_line_and_weighs_localhost_writes() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(
            d.path().join("ai-plugin.json"),
            "{\n  \"auth\": {\"type\": \"none\"}\n}\n",
        )
        .unwrap();
        let files = Files {
            root: d.path(),
            is_dir: true,
        };
        let pair = |localhost, spec_text: Option<&str>| Pair {
            manifest: ManifestInfo {
                path: "ai-plugin.json".into(),
                auth_type: Some("none".into()),
                localhost,
                ..ManifestInfo::default()
            },
            spec: "openapi.yaml".into(),
            spec_text: spec_text.map(str::to_string),
            writes: (0..7)
                .map(|i| openapi::WriteOp {
                    method: "POST".into(),
                    path: format!("/todos/{i}"),
                })
                .collect(),
        };
        let spec = "openapi: 3.0.1\npaths: {}\n";
        let f = cross_file(&files, &[pair(false, Some(spec)), pair(true, Some(spec))]);
        assert_eq!(f.len(), 2, "{f:?}");
        assert!(f.iter().all(|f| f.rule == RuleId::ManifestAuthNoneWrites
            && f.line == Some(2)
            && f.message.contains("POST /todos/4 and 2 more")));
        assert_eq!(
            (f[0].severity, f[1].severity),
            (Severity::Medium, Severity::Low)
        );
        assert!(f[1].message.ends_with("(localhost development manifest)"));
        // Without the spec's text (auth other than none) there is nothing to compare.
        assert!(cross_file(&files, &[pair(false, None)]).is_empty());
    }

    #[test]
    fn weigh_raises_public_secrets_and_drops_those_the_manifest_reported() {
        let d = tempfile::tempdir().unwrap();
        let ign = Ignores::open(d.path());
        let secret = |path: &str, line| {
            Finding::new(RuleId::SecretGeneric, path, Some(line), "a secret".into())
        };
        let mut findings = vec![
            secret("ai-plugin.json", 3),
            Finding::new(
                RuleId::ManifestSecretInAuth,
                "ai-plugin.json",
                Some(3),
                "in auth".into(),
            ),
            secret("openapi.yaml", 1),
            secret("app/static/x.js", 1),
            secret("app/main.py", 1),
            Finding::new(
                RuleId::ManifestField,
                "examples/ai-plugin.json",
                Some(1),
                "x".into(),
            ),
        ];
        let public: HashSet<String> = ["openapi.yaml".to_string()].into();
        weigh(&mut findings, &public, false, &ign);
        let got: Vec<_> = findings
            .iter()
            .map(|f| (f.rule, f.path.as_str(), f.severity))
            .collect();
        assert_eq!(
            got,
            [
                (
                    RuleId::ManifestSecretInAuth,
                    "ai-plugin.json",
                    Severity::High
                ),
                (RuleId::SecretGeneric, "openapi.yaml", Severity::High),
                (RuleId::SecretGeneric, "app/static/x.js", Severity::High),
                (RuleId::SecretGeneric, "app/main.py", Severity::Medium),
                (
                    RuleId::ManifestField,
                    "examples/ai-plugin.json",
                    Severity::Low
                ),
            ]
        );
        assert!(findings[1]
            .message
            .ends_with("in a public file (served to anyone)"));
        assert!(findings[4].message.ends_with("(in an example)"));
    }

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
