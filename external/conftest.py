"""Fixtures of the external suite: one running server per generated project (and the oauth
project once more on PostgreSQL when TEST_DATABASE_URL is set), and the per-tool report printed
at the end of the run.

Each test is marked with the tool it runs (`@pytest.mark.tool("spectral")`) and may attach a
one-line detail with `record_property("detail", ...)`; the report groups them by tool."""

from __future__ import annotations

import os
from collections import defaultdict

import pytest

from support import Project, Server, Target, new_user, offered_modes, projects_dir

ALL_MODES = ["none", "service_http", "user_http", "oauth"]


def target_names() -> list[str]:
    names = list(ALL_MODES)
    if os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql://"):
        names.append("oauth-postgres")
    return names


def pytest_configure(config):
    config.addinivalue_line("markers", "tool(name): the external tool a test runs (for the report)")


def _mode_of(name: str) -> str:
    return "oauth" if name.startswith("oauth") else name


@pytest.fixture(scope="session")
def log_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("server-logs")


@pytest.fixture(scope="session")
def project_for():
    """mode -> Project; a mode the stack does not offer is skipped (and only then)."""
    modes = offered_modes()

    def get(mode: str) -> Project:
        if mode not in modes:
            # Only a mode the stack does not offer is skipped; an offered one must run (CI too).
            pytest.skip(f"the python stack does not offer auth mode `{mode}` (plugsmith list)")
        path = projects_dir() / mode
        if not (path / ".venv" / "bin" / "python").exists():
            pytest.fail(f"the stack offers `{mode}` but no installed project is at {path}")
        return Project(mode, path)

    return get


@pytest.fixture(scope="session")
def target_for(project_for, log_dir):
    """name -> a running Target, started on first use and stopped at the end of the session."""
    started: dict[str, Target] = {}

    def get(name: str) -> Target:
        if name in started:
            return started[name]
        mode = _mode_of(name)
        project = project_for(mode)
        # The suite measures the server, not its rate limiter (tested in the project's own
        # suite): schemathesis and the load run would otherwise spend the minute's budget.
        extra = {"RATE_LIMIT_PER_MINUTE": "1000000"}
        if name == "oauth-postgres":
            extra["DATABASE_URL"] = os.environ["TEST_DATABASE_URL"]
        target = Target(name, mode, Server(project, name, extra))
        env = project.env
        if mode == "service_http":
            target.token = env["SERVICE_TOKEN"]
        elif mode == "user_http":
            target.token = project.manage("issue-key", "external-suite").split()[0]
        elif mode == "oauth":
            target.user, target.password = new_user(project, extra)
        target.server.start(log_dir)
        started[name] = target
        if mode == "oauth":
            from oauth_flow import token_by_code_flow  # noqa: PLC0415 (only oauth needs it)

            target.token = token_by_code_flow(target)["access_token"]
        return target

    yield get
    for target in started.values():
        target.server.stop()


# --- the report per tool ------------------------------------------------------------------

_results: dict[str, list[tuple[str, str, str]]] = defaultdict(list)


def pytest_runtest_logreport(report):
    if report.when != "call" and not (report.when == "setup" and report.outcome != "passed"):
        return
    tool = dict(report.user_properties).get("tool")
    if tool is None:
        return
    detail = dict(report.user_properties).get("detail", "")
    outcome = report.outcome.upper()
    if hasattr(report, "wasxfail"):
        outcome = "XFAIL (known template defect)" if report.skipped else "XPASS (defect fixed? remove the mark)"
        detail = detail or report.wasxfail
    elif report.skipped and isinstance(report.longrepr, tuple):
        detail = detail or report.longrepr[2]
    elif report.failed and not detail:
        crash = getattr(report.longrepr, "reprcrash", None)
        detail = (crash.message if crash else str(report.longrepr)).strip().splitlines()[0][:200]
    _results[tool].append((report.nodeid.split("::", 1)[-1], outcome, detail))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    marker = item.get_closest_marker("tool")
    if marker:
        item.user_properties.append(("tool", marker.args[0]))


def pytest_terminal_summary(terminalreporter):
    if not _results:
        return
    tr = terminalreporter
    tr.section("external tools report")
    for tool in sorted(_results):
        tr.write_line(f"{tool}:")
        for name, outcome, detail in _results[tool]:
            line = f"  {outcome:<8} {name}"
            if detail:
                line += f" — {detail}"
            tr.write_line(line)
