"""What every benchmark script's tests share: running the script as a user would, and the
two refusals each one makes before it touches a database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_script(
    script: str, database_url: str | None, *args: str, timeout: int = 60
) -> subprocess.CompletedProcess[str]:
    """Run ``bench/<script>.py`` with ``DATABASE_URL`` set to ``database_url`` (or unset)."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    return subprocess.run(
        [sys.executable, f"bench/{script}.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def assert_refuses_sqlite(script: str) -> None:
    for url in (None, "sqlite:////tmp/cbportal-bench.sqlite3"):
        result = run_script(script, url)
        assert result.returncode == 2
        assert "refuses to run on SQLite" in result.stderr
        assert f"make bench-{script}" in result.stderr


def assert_refuses_a_database_that_is_not_for_benchmarks(script: str) -> None:
    result = run_script(script, "postgres://cbportal:cbportal@127.0.0.1:5432/cbportal")
    assert result.returncode == 2
    assert "does not look like a benchmark database" in result.stderr
