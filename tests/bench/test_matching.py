"""bench/matching.py refuses databases it must not fill (issue 5 "Done when": the matching
benchmark runs on PostgreSQL, in its own database)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_bench(database_url: str | None, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    return subprocess.run(
        [sys.executable, "bench/matching.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_it_refuses_sqlite_with_a_clear_message() -> None:
    for url in (None, "sqlite:////tmp/cbportal-bench.sqlite3"):
        result = run_bench(url)
        assert result.returncode == 2
        assert "refuses to run on SQLite" in result.stderr
        assert "make bench-matching" in result.stderr


def test_it_refuses_a_database_that_is_not_a_benchmark_database() -> None:
    result = run_bench("postgres://cbportal:cbportal@127.0.0.1:5432/cbportal")
    assert result.returncode == 2
    assert "does not look like a benchmark database" in result.stderr


def test_it_checks_its_options_before_touching_a_database() -> None:
    result = run_bench("sqlite:////tmp/unused.sqlite3", "--needs", "0")
    assert result.returncode == 2
    assert "--needs" in result.stderr
