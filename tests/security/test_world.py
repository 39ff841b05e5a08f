"""The matrices' world is complete, and each test's changes to it are rolled back."""

from __future__ import annotations

from dataclasses import fields

import pytest

from requests_app.models import AssistanceRequest
from tests.security.world import ROLES, SIDES, Side


@pytest.mark.parametrize("name", SIDES)
def test_it_builds_every_object_of_each_side(world, name):
    side = world.sides[name]
    missing = [
        f.name for f in fields(Side) if f.name != "extra" and getattr(side, f.name) in (None, "")
    ]
    assert missing == []


def test_every_signed_in_role_has_a_notification(world):
    assert all(world.notification_of(role) for role in ROLES if role != "anonymous")


def test_it_answers_each_partner_for_its_own_side_only(world, client):
    client.force_login(world.users["partner"])
    assert client.get(f"/requests/{world.sides['A'].draft_request.pk}/").status_code == 200
    assert client.get(f"/requests/{world.sides['B'].draft_request.pk}/").status_code == 404


def test_a_test_may_change_the_world(world):
    AssistanceRequest.objects.filter(status="draft").delete()
    assert not AssistanceRequest.objects.filter(status="draft").exists()


def test_the_next_test_finds_it_whole_again(world):
    assert AssistanceRequest.objects.filter(status="draft").count() == len(SIDES)
