"""Fixtures for the experts tests: the ``expert`` persona's approved roster profile, another
expert, an approved action of ``partner`` with one need (see builders.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.experts.builders import approved_action, first_need, make_expert
from tests.factories import UserFactory


@pytest.fixture
def expert_profile(expert: Any, staff: Any) -> Any:
    """The ``expert`` persona's roster entry: approved, consents, French C1, English B2,
    thematic area ``data``, skill ``statistics``, experience in Tunisia, Senegalese
    partner-country administration."""
    return make_expert(expert, by=staff)


@pytest.fixture
def expert2(db: Any) -> Any:
    return UserFactory(username="expert2", expert=True)


@pytest.fixture
def expert2_profile(expert2: Any, staff: Any) -> Any:
    return make_expert(
        expert2,
        by=staff,
        name="Jan Novak",
        languages=(("fr", "B2"), ("cs", "C2")),
        administration_type="eu_member_state",
        nationality="CZ",
        countries=("MA",),
    )


@pytest.fixture
def action(partner: Any, staff: Any, approver: Any) -> Any:
    """An approved action of ``partner`` (see builders.approved_action)."""
    return approved_action(partner, staff, approver)


@pytest.fixture
def need(action: Any) -> Any:
    return first_need(action)
