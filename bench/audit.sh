#!/usr/bin/env bash
# Benchmark `plugsmith audit` against detect-secrets (PyPI) and ripsecrets (crates.io) on the same
# trees, and compare their recall on the labelled fixture set. Not run in CI; results go into
# docs/audit.md by hand.
#
#   bash bench/audit.sh            # everything (first run installs the tools and builds the trees)
#   BENCH_TIMEOUT=600 bash bench/audit.sh      # per-run limit in seconds (default 900)
#   BENCH_SKIP_TIMING=1 bash bench/audit.sh    # no speed comparison
#   BENCH_SKIP_MEMORY=1 bash bench/audit.sh    # no peak-memory row
#   BENCH_DENSE_MB=256 bash bench/audit.sh     # size of each of the two dense files (default 256)
#
# Trees:
#   generated  a project as `plugsmith new --auth service_http` writes it (with its .env)
#   synthetic  >= 50,000 files / >= 500 MB of source-like text with a few planted secrets, built once
#              under $HOME/.cache/plugsmith/bench
#   rustsrc    the Rust toolchain's library sources, or ~/.cargo/registry/src when rust-src is absent
#   dense      two files of BENCH_DENSE_MB MB, every line an `api_token=` / `password=` finding, scanned
#              as a tree and (committed, then deleted) with --history: peak RSS, output size
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
cache="$HOME/.cache/plugsmith"
bench="$cache/bench"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$cache/target-audit}"
timeout_s="${BENCH_TIMEOUT:-900}"
mkdir -p "$bench"

# ---- tools
echo "building plugsmith (release)..." >&2
cargo build --release --quiet --manifest-path "$here/Cargo.toml"
plugsmith="$CARGO_TARGET_DIR/release/plugsmith"

venv="$cache/venv-bench"
if [ ! -x "$venv/bin/detect-secrets" ]; then
  echo "installing detect-secrets into $venv..." >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q detect-secrets==1.5.0
fi
detect="$venv/bin/detect-secrets"

rip="$cache/tools/bin/ripsecrets"
if [ ! -x "$rip" ]; then
  echo "installing ripsecrets into $cache/tools..." >&2
  cargo install --quiet ripsecrets --root "$cache/tools"
fi

# ---- trees
gen="$bench/generated"
rm -rf "$gen"
"$plugsmith" new "$gen" --yes --auth service_http >/dev/null

syn="$bench/synthetic"
if [ ! -f "$syn/.complete" ]; then
  echo "building the synthetic tree in $syn (once)..." >&2
  rm -rf "$syn"
  python3 - "$syn" <<'PY'
import os, random, sys, string
root = sys.argv[1]
rnd = random.Random(42)
words = ["user", "todo", "item", "config", "request", "response", "handler", "value", "result", "index",
         "count", "name", "path", "data", "client", "server", "cache", "session", "token_count", "render"]
def ident(): return "_".join(rnd.choice(words) for _ in range(rnd.randint(1, 3)))
def line():
    k = rnd.random()
    if k < 0.55: return f"    {ident()} = {ident()}({ident()}, {rnd.randint(0, 9999)})"
    if k < 0.75: return f"    # {' '.join(rnd.choice(words) for _ in range(rnd.randint(4, 12)))}"
    if k < 0.85: return f"def {ident()}({ident()}, {ident()}):"
    if k < 0.95: return f'    log.info("{" ".join(rnd.choice(words) for _ in range(6))}", {ident()})'
    return f"    {ident()} = \"{''.join(rnd.choice(string.ascii_letters) for _ in range(24))}\""
alnum = string.ascii_letters + string.digits
n_files, total = 50_000, 0
for i in range(n_files):
    d = os.path.join(root, f"pkg{i % 200:03d}", f"mod{(i // 200) % 25:02d}")
    os.makedirs(d, exist_ok=True)
    ext = rnd.choice([".py", ".js", ".ts", ".rs", ".yaml", ".json", ".md", ".txt"])
    lines, size = [], 0
    target = rnd.randint(6_000, 15_500)
    while size < target:
        l = line(); lines.append(l); size += len(l) + 1
    if i % 1000 == 7:  # a planted secret every 1,000 files
        lines.insert(rnd.randrange(len(lines)), 'GITHUB_TOKEN = "ghp_' + "".join(rnd.choice(alnum) for _ in range(36)) + '"')
    with open(os.path.join(d, f"f{i:05d}{ext}"), "w") as f:
        f.write("\n".join(lines) + "\n")
    total += size
print(f"{n_files} files, {total / 1e6:.0f} MB", file=sys.stderr)
PY
  touch "$syn/.complete"
fi

rsrc="$(rustc --print sysroot)/lib/rustlib/src"
[ -d "$rsrc" ] || rsrc="$HOME/.cargo/registry/src"

# ---- timing
now() { date +%s.%N; }
count_files() { find "$1" -type f -not -path '*/.git/*' | wc -l; }
count_mb() { du -sbm "$1" 2>/dev/null | cut -f1 || du -sm "$1" | cut -f1; }

run_tool() { # tool tree -> prints seconds or "timeout"
  local tool="$1" tree="$2" t0 t1 rc
  t0=$(now)
  set +e
  case "$tool" in
    plugsmith) timeout "$timeout_s" "$plugsmith" audit "$tree" --format json > "$bench/out-$tool.json" 2>/dev/null ;;
    ripsecrets) timeout "$timeout_s" "$rip" "$tree" > "$bench/out-$tool.txt" 2>/dev/null ;;
    detect-secrets) (cd "$tree" && timeout "$timeout_s" "$detect" scan --all-files . > "$bench/out-$tool.json" 2>/dev/null) ;;
  esac
  rc=$?
  set -e
  t1=$(now)
  if [ "$rc" = 124 ]; then echo "timeout"; else python3 -c "print(f'{$t1-$t0:.3f}')"; fi
}

printf '\n%-10s %8s %8s  %-15s %9s %10s %9s\n' tree files MB tool seconds files/s MB/s
[ -n "${BENCH_SKIP_TIMING:-}" ] || for spec in "generated:$gen" "synthetic:$syn" "rustsrc:$rsrc"; do
  name="${spec%%:*}"; tree="${spec#*:}"
  files=$(count_files "$tree"); mb=$(du -sm "$tree" | cut -f1)
  # warm the page cache so every tool reads from memory
  find "$tree" -type f -not -path '*/.git/*' -print0 | xargs -0 cat > /dev/null 2>&1 || true
  for tool in plugsmith ripsecrets detect-secrets; do
    s=$(run_tool "$tool" "$tree")
    if [ "$s" = timeout ]; then
      printf '%-10s %8s %8s  %-15s %9s %10s %9s\n' "$name" "$files" "$mb" "$tool" ">$timeout_s" "<$((files / timeout_s))" "-"
    else
      python3 -c "f,m,s=$files,$mb,$s; s=max(s,1e-3); print(f'%-10s %8d %8d  %-15s %9.2f %10.0f %9.1f' % ('$name', f, m, '$tool', s, f/s, m/s))"
    fi
  done
done

# ---- bounded memory: two dense files, as a tree and in history
peak() { # out-file command... -> prints "seconds peak_MB" (GNU time -v, else getrusage)
  local out="$1"; shift
  if [ -x /usr/bin/time ]; then
    local log; log=$(mktemp)
    set +e; /usr/bin/time -v "$@" > "$out" 2> "$log"; set -e
    python3 - "$log" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", t)
h, m, s = wall.groups()
secs = int(h or 0) * 3600 + int(m) * 60 + float(s)
kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1))
print(f"{secs:.2f} {kb / 1024:.0f}")
PY
    rm -f "$log"
  else
    python3 - "$out" "$@" <<'PY'
import resource, subprocess, sys, time
t = time.time()
subprocess.run(sys.argv[2:], stdout=open(sys.argv[1], "w"), stderr=subprocess.DEVNULL)
print(f"{time.time() - t:.2f} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.0f}")
PY
  fi
}
dense_mb="${BENCH_DENSE_MB:-256}"
dense="$bench/dense-$dense_mb"
if [ -z "${BENCH_SKIP_MEMORY:-}" ]; then
  if [ ! -f "$dense/.complete" ]; then
    echo "building two dense files of $dense_mb MB in $dense (once)..." >&2
    rm -rf "$dense"; mkdir -p "$dense/tree" "$dense/git"
    python3 - "$dense/tree" "$dense_mb" <<'PY'
import os, random, sys
root, mb = sys.argv[1], int(sys.argv[2])
rnd = random.Random(7)
alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
for name, key in (("tokens.txt", "api_token"), ("passwords.txt", "password")):
    with open(os.path.join(root, name), "w") as f:
        n, buf = 0, []
        while n < mb << 20:
            line = f"{key}={''.join(rnd.choices(alnum, k=24))}7Qz\n"
            buf.append(line); n += len(line)
            if len(buf) >= 100_000: f.write("".join(buf)); buf = []
        f.write("".join(buf))
PY
    cp "$dense/tree/"*.txt "$dense/git/"
    git -C "$dense/git" init -q
    git -C "$dense/git" add -A
    git -C "$dense/git" -c user.name=bench -c user.email=bench@example.invalid commit -qm "dense files"
    git -C "$dense/git" rm -q tokens.txt passwords.txt
    git -C "$dense/git" -c user.name=bench -c user.email=bench@example.invalid commit -qm "deleted"
    touch "$dense/.complete"
  fi
  echo
  printf '%-10s %8s  %-9s %9s %12s %11s %9s\n' tree MB mode seconds "peak RSS MB" "JSON KB" findings
  for mode in tree history; do
    if [ "$mode" = tree ]; then
      r=$(peak "$bench/out-dense.json" "$plugsmith" audit "$dense/tree" --format json)
    else
      r=$(peak "$bench/out-dense.json" "$plugsmith" audit "$dense/git" --history --format json)
    fi
    n=$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['findings']))" "$bench/out-dense.json")
    kb=$(( $(wc -c < "$bench/out-dense.json") / 1024 ))
    printf '%-10s %8s  %-9s %9s %12s %11s %9s\n' dense "$((2 * dense_mb))" "$mode" ${r% *} ${r#* } "$kb" "$n"
  done
fi

# ---- recall on the labelled fixture set (secret family)
lab="$bench/labelled"
rm -rf "$lab"
PLUGSMITH_LABELLED_OUT="$lab" cargo test --quiet --manifest-path "$here/Cargo.toml" --test audit_labelled \
  -- --ignored write_labelled_tree > /dev/null 2>&1
echo
echo "secret-family recall / false alarms on the labelled set ($(ls "$lab" | grep -c '^pos--secret') positive, $(ls "$lab" | grep -c '^neg--secret') negative cases):"
for tool in plugsmith ripsecrets detect-secrets; do
  tp=0; fn=0; fp=0; tn=0
  for case in "$lab"/*--secret--*; do
    set +e
    case "$tool" in
      plugsmith) { "$plugsmith" audit "$case" --format json || true; } | python3 -c "import json,sys; sys.exit(0 if any(f['rule'].startswith('secret.') for f in json.load(sys.stdin)['findings']) else 1)" ;;
      ripsecrets) [ -n "$("$rip" --only-matching "$case" 2>/dev/null)" ] ;;
      detect-secrets) (cd "$case" && "$detect" scan --all-files . | python3 -c "import json,sys; sys.exit(0 if json.load(sys.stdin)['results'] else 1)") ;;
    esac
    hit=$?
    set -e
    case "$(basename "$case")" in
      pos--*) if [ $hit = 0 ]; then tp=$((tp + 1)); else fn=$((fn + 1)); fi ;;
      neg--*) if [ $hit = 0 ]; then fp=$((fp + 1)); else tn=$((tn + 1)); fi ;;
    esac
  done
  python3 -c "tp,fn,fp,tn=$tp,$fn,$fp,$tn; print(f'  %-15s recall %.3f (%d/%d)  false alarms %d/%d' % ('$tool', tp/(tp+fn), tp, tp+fn, fp, fp+tn))"
done
