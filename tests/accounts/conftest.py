"""Fixtures for the account tests.

These tests drive the real sign-in form many times (lockout needs five failures per case),
and every factory user carries the same PBKDF2 hash with Django's production iteration count
(about 0.6 s per check). ``_fast_password_hashing`` keeps the algorithm and the hashes as
they are but remembers each (password, salt, iterations) result, so a given password is
derived once per test run instead of once per attempt; passwords set during a test (accepted
invitations, resets, changes) use a low iteration count.
"""

from __future__ import annotations

import functools
from typing import Any

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher


@functools.lru_cache(maxsize=512)
def _pbkdf2(password: str, salt: str, iterations: int) -> str:
    return PBKDF2PasswordHasher().encode(password, salt, iterations)


class CachingPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    iterations = 1000

    def encode(self, password: str, salt: str, iterations: int | None = None) -> str:
        return _pbkdf2(password, salt, iterations or self.iterations)

    def must_update(self, encoded: str) -> bool:
        return False

    def harden_runtime(self, password: str, encoded: str) -> None:
        return None


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = [f"{__name__}.CachingPBKDF2PasswordHasher"]
