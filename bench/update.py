#!/usr/bin/env python3
"""Benchmark of `plugsmith update` against `copier update` on the same tree.

The tree is the project `plugsmith new --yes --auth service_http` generates, with one line of
the user's own added to app/routes.py and committed. Two updates are timed on each side:
- nothing changed: `plugsmith update` / `copier update` to the version the project has;
- one new endpoint: `plugsmith add endpoint 'POST /notes Add a note'` / `copier update` to a
  template version whose files are that project with the endpoint (as plugsmith renders it).

copier gets the tree as a template (every text file rendered through Jinja, as bench/new.py
makes it), in a git repository tagged v1 and v2. Each run starts from a fresh copy of the
committed project (copied outside the timing). Prints the median wall time over RUNS runs
(default 15).

    python3 bench/update.py [RUNS]
    BENCH_DIR=/dev/shm python3 bench/update.py     # on a RAM file system

Needs a release build (`cargo build --release`) and git (copier runs it); installs copier into
the venv bench/new.py uses.
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
import new as bench_new  # noqa: E402  (the same venv, templates and binary)

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 15
PLUGSMITH = bench_new.PLUGSMITH
ENDPOINT = "POST /notes Add a note"
EDIT = "# A line of the user's own.\n"
ENV = dict(
    os.environ,
    GIT_AUTHOR_NAME="bench",
    GIT_AUTHOR_EMAIL="bench@localhost",
    GIT_COMMITTER_NAME="bench",
    GIT_COMMITTER_EMAIL="bench@localhost",
)


def sh(*args, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(args, check=True, capture_output=True, text=True, env=ENV, **kw)


def commit(d: Path, message: str) -> None:
    if not (d / ".git").exists():
        sh("git", "init", "-q", "-b", "main", cwd=d)
    sh("git", "add", "-A", cwd=d)
    sh("git", "commit", "-q", "-m", message, cwd=d)


def edit(d: Path) -> None:
    routes = d / "app" / "routes.py"
    routes.write_text(EDIT + routes.read_text())


def copier_template(work: Path, v1: Path, v2: Path) -> Path:
    """A copier template in a git repository: tag v1 renders `v1`, tag v2 renders `v2`."""
    repo = work / "copier-repo"
    for tag, tree in (("v1", v1), ("v2", v2)):
        _, cp = bench_new.make_templates(work / tag, tree)
        if repo.exists():
            shutil.rmtree(repo / "template")
        else:
            repo.mkdir()
            (repo / "copier.yml").write_text((cp / "copier.yml").read_text())
        shutil.copytree(cp / "template", repo / "template")
        (repo / "template" / "{{ _copier_conf.answers_file }}.jinja").write_text(
            "{{ _copier_answers|to_nice_yaml -}}\n"
        )
        commit(repo, tag)
        sh("git", "tag", tag, cwd=repo)
    return repo


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
    bench_new.setup_venv()
    copier = str(bench_new.VENV / "bin" / "copier")
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as tmp:
        work = Path(tmp)
        # The plugsmith project, edited and committed; its tree with the endpoint is version 2.
        ours = work / "plugsmith" / "todo-plugin"
        ours.parent.mkdir()
        sh(str(PLUGSMITH), "new", str(ours), "--yes", "--auth", "service_http")
        edit(ours)
        commit(ours, "my edit")
        v1, v2 = work / "v1" / "todo-plugin", work / "v2" / "todo-plugin"
        for v in (v1, v2):
            v.parent.mkdir()
            sh(str(PLUGSMITH), "new", str(v), "--yes", "--auth", "service_http")
            shutil.copyfile(ours / ".env", v / ".env")  # the same secrets: only the endpoint differs
        sh(str(PLUGSMITH), "add", "endpoint", ENDPOINT, "-C", str(v2))
        for v in (v1, v2):
            shutil.rmtree(v / ".git")
        repo = copier_template(work, v1, v2)
        theirs = work / "copier" / "todo-plugin"
        theirs.parent.mkdir()
        sh(copier, "copy", "--defaults", "--quiet", "--trust", "--vcs-ref", "v1", str(repo), str(theirs))
        edit(theirs)
        commit(theirs, "generated, and my edit")

        runs = work / "runs"
        runs.mkdir()

        def fresh(src: Path, tool: str):
            def prepare(i: int) -> Path:
                d = runs / f"{tool}-{i}" / "todo-plugin"
                shutil.copytree(src, d, symlinks=True)
                return d
            return prepare

        def copier_update(ref: str):
            return lambda d: sh(copier, "update", "--defaults", "--quiet", "--trust", "--vcs-ref", ref, cwd=d)

        rows = [
            ("plugsmith update (nothing changed)", median_seconds(
                lambda d: sh(str(PLUGSMITH), "update", cwd=d), fresh(ours, "ps-same"))),
            ("copier update (nothing changed)", median_seconds(copier_update("v1"), fresh(theirs, "cp-same"))),
            ("plugsmith add endpoint (one new endpoint)", median_seconds(
                lambda d: sh(str(PLUGSMITH), "add", "endpoint", ENDPOINT, cwd=d), fresh(ours, "ps-add"))),
            ("copier update (one new endpoint)", median_seconds(copier_update("v2"), fresh(theirs, "cp-add"))),
        ]
        # Both sides end with the same files where the endpoint shows, and the edit kept.
        for tool, src in (("ps-add", ours), ("cp-add", theirs)):
            d = runs / f"{tool}-0" / "todo-plugin"
            routes = (d / "app" / "routes.py").read_text()
            assert routes.startswith(EDIT) and '"/notes"' in routes, f"{tool}: {routes[:200]}"
        files = sum(1 for p in v1.rglob("*") if p.is_file())
    by = dict(rows)
    where = os.environ.get("BENCH_DIR") or tempfile.gettempdir()
    print(f"`plugsmith update` benchmark: {files} files, median of {RUNS} runs, {os.cpu_count()} cores, in {where}\n")
    print("| update | median wall time |")
    print("|---|---:|")
    for name, secs in rows:
        print(f"| {name} | {secs * 1000:.1f} ms |")
    print()
    same = by["copier update (nothing changed)"] / by["plugsmith update (nothing changed)"]
    add = by["copier update (one new endpoint)"] / by["plugsmith add endpoint (one new endpoint)"]
    print(f"copier / plugsmith, nothing changed: {same:.1f}x (goal >= 10x)")
    print(f"copier / plugsmith, one new endpoint: {add:.1f}x (goal >= 10x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
