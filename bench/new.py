#!/usr/bin/env python3
"""Benchmark of `plugsmith new` against copier, cookiecutter and `cp -r`.

All four produce the same tree: the project `plugsmith new --yes --auth service_http` generates.
copier and cookiecutter get it as a template (every text file rendered through Jinja, the
human name a variable); `cp -r` of the finished tree is the floor. Prints the median wall time
of each over RUNS runs (default 15), and the ratios the goals are stated in.

    python3 bench/new.py [RUNS]
    BENCH_DIR=/dev/shm python3 bench/new.py     # on a RAM file system: CPU cost, not disk

Needs a release build (`cargo build --release`); installs copier and cookiecutter into a venv
under ~/.cache/plugsmith/bench-venv.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("PLUGSMITH_CACHE", Path.home() / ".cache" / "plugsmith"))
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", CACHE / "target"))
PLUGSMITH = TARGET / "release" / "plugsmith"
VENV = CACHE / "bench-venv"
RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 15
NAME = "Todo Plugin"


def sh(*args, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(args, check=True, capture_output=True, text=True, **kw)


def setup_venv() -> None:
    if not (VENV / "bin" / "python").exists():
        sh(sys.executable, "-m", "venv", str(VENV))
    sh(str(VENV / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", "copier==9.19.1", "cookiecutter==2.7.1")


def make_templates(work: Path, reference: Path) -> tuple[Path, Path]:
    """A cookiecutter and a copier template whose output is `reference` (the generated tree)."""
    cc = work / "cookiecutter-template"
    (cc / "{{cookiecutter.project_slug}}").mkdir(parents=True)
    (cc / "cookiecutter.json").write_text('{"project_slug": "todo-plugin", "name": "%s"}' % NAME)
    cp = work / "copier-template"
    cp.mkdir()
    (cp / "copier.yml").write_text(
        "_subdirectory: template\n_envops:\n  keep_trailing_newline: true\nname:\n  type: str\n  default: %s\n" % NAME
    )
    for src in reference.rglob("*"):
        if src.is_dir() or ".git" in src.relative_to(reference).parts:
            continue
        rel = src.relative_to(reference)
        data = src.read_bytes()
        try:
            text = data.decode()
        except UnicodeDecodeError:
            text = None
        for root, var, suffix in ((cc / "{{cookiecutter.project_slug}}", "{{ cookiecutter.name }}", ""),
                                  (cp / "template", "{{ name }}", ".jinja")):
            dest = root / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            if text is None or "{{" in text or "{%" in text:
                shutil.copyfile(src, dest)  # binary, or text Jinja must not touch
            else:
                dest = dest.with_name(dest.name + suffix)
                dest.write_text(text.replace(NAME, var))
    return cc, cp


def median_seconds(run, prepare) -> float:
    times = []
    for i in range(RUNS):
        dest = prepare(i)
        start = time.perf_counter()
        run(dest)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    if not PLUGSMITH.exists():
        print(f"error: build first: cargo build --release (looked for {PLUGSMITH})", file=sys.stderr)
        return 2
    setup_venv()
    bin_ = VENV / "bin"
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as tmp:
        work = Path(tmp)
        reference = work / "reference" / "todo-plugin"
        reference.parent.mkdir()
        sh(str(PLUGSMITH), "new", str(reference), "--yes", "--no-git", "--auth", "service_http")
        cc, cp = make_templates(work, reference)
        out = work / "out"
        out.mkdir()
        fresh = lambda tool: (lambda i: out / f"{tool}-{i}")  # noqa: E731
        rows = [
            ("plugsmith new (with git)", median_seconds(
                lambda d: sh(str(PLUGSMITH), "new", str(d), "--yes", "--auth", "service_http"), fresh("git"))),
            ("plugsmith new --no-git", median_seconds(
                lambda d: sh(str(PLUGSMITH), "new", str(d), "--yes", "--no-git", "--auth", "service_http"), fresh("nogit"))),
            ("copier copy --defaults", median_seconds(
                lambda d: sh(str(bin_ / "copier"), "copy", "--defaults", "--quiet", "--trust", str(cp), str(d)), fresh("copier"))),
            ("cookiecutter --no-input", median_seconds(
                lambda d: (d.mkdir(), sh(str(bin_ / "cookiecutter"), "--no-input", "-o", str(d), str(cc))), fresh("cookiecutter"))),
            ("cp -r (floor)", median_seconds(
                lambda d: sh("cp", "-r", str(reference), str(d)), fresh("cp"))),
        ]
        files = sum(1 for p in reference.rglob("*") if p.is_file())
    by = dict(rows)
    where = os.environ.get("BENCH_DIR") or tempfile.gettempdir()
    print(f"`plugsmith new` benchmark: {files} files, median of {RUNS} runs, {os.cpu_count()} cores, in {where}\n")
    print("| tool | median wall time | vs plugsmith new --no-git |")
    print("|---|---:|---:|")
    base = by["plugsmith new --no-git"]
    for name, secs in rows:
        print(f"| {name} | {secs * 1000:.1f} ms | {secs / base:.2f}x |")
    print()
    print(f"copier / plugsmith (no git): {by['copier copy --defaults'] / base:.1f}x (goal >= 20x)")
    print(f"cookiecutter / plugsmith (no git): {by['cookiecutter --no-input'] / base:.1f}x")
    print(f"plugsmith (no git) / cp -r: {base / by['cp -r (floor)']:.1f}x (goal <= 5x)")
    print(f"plugsmith (with git) / cp -r: {by['plugsmith new (with git)'] / by['cp -r (floor)']:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
