"""Fixtures for the evaluations tests: a running action of ``partner`` whose period covers
today, with ``evaluator`` assigned (see builders.py), and a second evaluator."""

from __future__ import annotations

from typing import Any

import pytest

from tests.evaluations.builders import running_action
from tests.factories import UserFactory


@pytest.fixture
def evaluator2(db: Any) -> Any:
    """An evaluator assigned to nothing."""
    return UserFactory(username="evaluator2", evaluator=True)


@pytest.fixture
def action(partner: Any, staff: Any, approver: Any, evaluator: Any) -> Any:
    """An action of ``partner`` in implementation, 90 days in, 90 to go, ``evaluator``
    assigned."""
    return running_action(partner, staff, approver, evaluator=evaluator)
