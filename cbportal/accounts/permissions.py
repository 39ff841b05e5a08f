"""Role predicates shared by every app's permissions (pages and API alike)."""

from __future__ import annotations

from typing import Any


def is_staff(user: Any) -> bool:
    """Programme staff (approvers included) and administrators."""
    return bool(user.is_authenticated and (user.role == "staff" or user.is_superuser))
