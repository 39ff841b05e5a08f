"""bench/web.py (make bench) refuses what it must not load before it touches anything:
SQLite, a database that is not the scale data set, nonsense options."""

from __future__ import annotations

from tests.bench.common import run_script


def test_it_refuses_sqlite_with_a_clear_message() -> None:
    for url in (None, "sqlite:////tmp/cbportal-bench.sqlite3"):
        result = run_script("web", url)
        assert result.returncode == 2
        assert "refuses to run on SQLite" in result.stderr
        assert "make seed-scale && make bench" in result.stderr


def test_it_refuses_a_database_that_is_not_the_scale_data_set() -> None:
    result = run_script("web", "postgres://cbportal:cbportal@127.0.0.1:5432/cbportal")
    assert result.returncode == 2
    assert "does not look like the scale data set" in result.stderr


def test_it_checks_its_options_before_touching_a_database() -> None:
    for option in ("--runs", "--duration", "--connections", "--workers"):
        result = run_script("web", "sqlite:////tmp/unused.sqlite3", option, "0")
        assert result.returncode == 2
        assert f"{option} must be at least 1" in result.stderr
