"""bench/matching.py refuses databases it must not fill (issue 5 "Done when": the matching
benchmark runs on PostgreSQL, in its own database)."""

from __future__ import annotations

import subprocess

from tests.bench.common import (
    assert_refuses_a_database_that_is_not_for_benchmarks,
    assert_refuses_sqlite,
    run_script,
)


def run_bench(database_url: str | None, *args: str) -> subprocess.CompletedProcess[str]:
    return run_script("matching", database_url, *args)


def test_it_refuses_sqlite_with_a_clear_message() -> None:
    assert_refuses_sqlite("matching")


def test_it_refuses_a_database_that_is_not_a_benchmark_database() -> None:
    assert_refuses_a_database_that_is_not_for_benchmarks("matching")


def test_it_checks_its_options_before_touching_a_database() -> None:
    result = run_bench("sqlite:////tmp/unused.sqlite3", "--needs", "0")
    assert result.returncode == 2
    assert "--needs" in result.stderr
