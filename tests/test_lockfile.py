"""Reproducible, checked dependencies.

``requirements/base.lock`` (what the image installs) and ``requirements/dev.lock`` (what
``make install`` and CI install) pin every package with ``==`` and the hashes of its files,
written by ``make lock`` from pyproject.toml. These tests fail when pyproject.toml gains,
loses or narrows a dependency without the locks following, so the locks cannot drift; and
they check that every installer really uses them. ``package-lock.json`` does the same for
the front end with its ``integrity`` hashes (``npm ci``).
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
RUNTIME = [Requirement(r) for r in PYPROJECT["project"]["dependencies"]]
DEV = [Requirement(r) for r in PYPROJECT["project"]["optional-dependencies"]["dev"]]

ENTRY = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>\S+?)\s*\\?$")
HASH = re.compile(r"^\s+--hash=sha256:[0-9a-f]{64}\s*\\?$")


def parse_lock(text: str) -> dict[str, tuple[str, int]]:
    """``{canonical name: (version, number of sha256 hashes)}``; refuses anything a hash-
    checking install would not take (a requirement without ``==``, an option line)."""
    pins: dict[str, tuple[str, int]] = {}
    current: str | None = None
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        entry = ENTRY.match(line)
        if entry:
            current = canonicalize_name(entry["name"])
            assert current not in pins, f"{current} pinned twice"
            pins[current] = (entry["version"], 0)
        elif HASH.match(line) and current is not None:
            version, hashes = pins[current]
            pins[current] = (version, hashes + 1)
        else:
            raise AssertionError(f"not a pinned requirement or a hash: {line!r}")
    return pins


def _lock(name: str) -> dict[str, tuple[str, int]]:
    return parse_lock((ROOT / "requirements" / name).read_text(encoding="utf-8"))


def test_the_parser_reads_pins_and_hashes_and_refuses_the_rest():
    text = (
        "# header\n"
        "django==5.2.19 \\\n"
        "    --hash=sha256:" + "a" * 64 + " \\\n"
        "    --hash=sha256:" + "b" * 64 + "\n"
        "    # via cbportal (pyproject.toml)\n"
        "Django-Filter==26.2 \\\n"
        "    --hash=sha256:" + "c" * 64 + "\n"
    )
    assert parse_lock(text) == {"django": ("5.2.19", 2), "django-filter": ("26.2", 1)}
    for bad in ("celery>=5.4\n", "-e .\n", "--index-url https://example.org/simple\n"):
        with pytest.raises(AssertionError):
            parse_lock(bad)


@pytest.mark.parametrize(
    ("lock", "requirements"),
    [("base.lock", RUNTIME), ("dev.lock", RUNTIME + DEV)],
    ids=["base", "dev"],
)
def test_every_dependency_of_pyproject_is_pinned_with_hashes(lock, requirements):
    pins = _lock(lock)
    for requirement in requirements:
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement} is not in requirements/{lock}: run make lock"
        version, hashes = pins[name]
        assert hashes >= 1, f"{name}=={version} has no hash in requirements/{lock}"
        assert requirement.specifier.contains(Version(version), prereleases=True), (
            f"requirements/{lock} pins {name}=={version}, outside {requirement}: run make lock"
        )


@pytest.mark.parametrize("lock", ["base.lock", "dev.lock"])
def test_every_locked_package_has_a_hash(lock):
    pins = _lock(lock)
    assert len(pins) > 40
    assert [name for name, (_v, hashes) in pins.items() if hashes == 0] == []


def test_the_runtime_lock_holds_no_dev_only_package():
    runtime_names = {canonicalize_name(r.name) for r in RUNTIME}
    dev_only = {canonicalize_name(r.name) for r in DEV} - runtime_names
    assert dev_only & set(_lock("base.lock")) == set()


def test_the_image_and_the_development_install_run_the_same_versions():
    base, dev = _lock("base.lock"), _lock("dev.lock")
    assert set(base) <= set(dev)
    assert {n: v for n, (v, _h) in base.items()} == {n: dev[n][0] for n in base}


def test_every_installer_uses_the_locks():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "pip install --quiet --require-hashes -r requirements/dev.lock" in makefile
    assert re.search(r"^\$\(STAMP\):.*requirements/dev\.lock", makefile, re.M)
    assert "pip install --quiet --no-deps -e ." in makefile
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "pip install --no-cache-dir --require-hashes -r requirements/base.lock" in dockerfile
    installs = [
        line
        for line in dockerfile.splitlines()
        if "pip install" in line and not line.lstrip().startswith("#")
    ]
    assert all("--require-hashes" in line or "--no-deps" in line for line in installs), installs
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "make install" in ci
    assert not re.search(r"pip install (?!.*--require-hashes)(?!.*--no-deps)", ci)


def test_the_front_end_lock_has_an_integrity_hash_for_every_package():
    lock = json.loads((ROOT / "package-lock.json").read_text(encoding="utf-8"))
    assert lock["lockfileVersion"] >= 2
    packages = {path: meta for path, meta in lock["packages"].items() if path}
    assert packages
    missing = [
        path
        for path, meta in packages.items()
        if not meta.get("link") and not str(meta.get("integrity", "")).startswith("sha512-")
    ]
    assert missing == []
    declared = json.loads((ROOT / "package.json").read_text(encoding="utf-8"))
    for name in {**declared.get("dependencies", {}), **declared.get("devDependencies", {})}:
        assert f"node_modules/{name}" in packages, name
