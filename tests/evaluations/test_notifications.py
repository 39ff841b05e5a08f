"""The notifications of monitoring and evaluation: who hears about what, only once, and
that every email (evaluator_assigned, evaluation_submitted, measurement_due, evaluation_due,
follow_up_request_opened, action_closed) renders its subject, text and HTML in English,
French and Spanish through cbportal.core.notifications.build_email."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext

from actions import services as action_services
from actions.permissions import can_view_action
from cbportal.core.models import DeliveryStatus, Notification
from cbportal.core.notifications import build_email
from evaluations import services
from evaluations.models import FinalEvaluation, Recommendation
from evaluations.permissions import can_view_evaluation
from requests_app.permissions import can_edit_request
from tests.evaluations.builders import (
    make_indicator,
    submitted_evaluation,
)
from tests.factories import UserFactory

EVENTS = (
    "evaluator_assigned",
    "evaluation_submitted",
    "measurement_due",
    "evaluation_due",
    "follow_up_request_opened",
    "action_closed",
)


def told(event: str) -> list[str]:
    return sorted(
        Notification.objects.filter(event=event).values_list("recipient__username", flat=True)
    )


def greeting(user: Any, language: str) -> str:
    with translation.override(language):
        return gettext("Hello %(name)s,") % {"name": user.display_name}


# --- evaluator_assigned ------------------------------------------------------------------------


def test_an_assigned_evaluator_hears_once(action, staff, evaluator, evaluator2):
    assert told("evaluator_assigned") == ["evaluator"]  # the fixture assigned them
    notification = Notification.objects.get(event="evaluator_assigned")
    assert (notification.target, notification.url) == (action, action.get_absolute_url())
    # Saving the same list again tells nobody.
    action_services.action_update(action_id=action.pk, by=staff, data={"evaluators": [evaluator]})
    assert told("evaluator_assigned") == ["evaluator"]
    # Adding a second evaluator tells only them.
    action_services.action_update(
        action_id=action.pk, by=staff, data={"evaluators": [evaluator, evaluator2]}
    )
    assert told("evaluator_assigned") == ["evaluator", "evaluator2"]
    # Other edits of the action tell no evaluator.
    action_services.action_update(action_id=action.pk, by=staff, data={"title": "Renamed"})
    action_services.action_update(
        action_id=action.pk, by=staff, data={"evaluators": [evaluator2, evaluator]}
    )
    assert told("evaluator_assigned") == ["evaluator", "evaluator2"]


def test_removing_an_evaluator_tells_nobody(action, staff, evaluator, evaluator2):
    action_services.action_update(action_id=action.pk, by=staff, data={"evaluators": [evaluator2]})
    action_services.action_update(action_id=action.pk, by=staff, data={"evaluators": []})
    assert told("evaluator_assigned") == ["evaluator", "evaluator2"]


def test_a_refused_assignment_tells_nobody(action, staff, evaluator, expert):
    from cbportal.core.errors import ApplicationError

    with pytest.raises(ApplicationError):
        action_services.action_update(
            action_id=action.pk, by=staff, data={"evaluators": [evaluator, expert]}
        )
    assert told("evaluator_assigned") == ["evaluator"]


# --- evaluation_submitted, action_closed, follow_up_request_opened ------------------------------


@pytest.fixture
def colleague(partner: Any) -> Any:
    """A second focal point of the partner's organisation."""
    return UserFactory(username="colleague", partner=True, organisation=partner.organisation)


def test_a_submitted_evaluation_tells_the_case_officer_and_the_partner(
    action, staff, approver, partner, partner2, colleague, evaluator
):
    evaluation = submitted_evaluation(
        action, evaluator, staff=staff, approver=approver, partner=partner
    )
    assert told("evaluation_submitted") == ["colleague", "partner", "staff"]
    notification = Notification.objects.filter(event="evaluation_submitted").first()
    assert notification.target == evaluation
    assert notification.url == evaluation.get_absolute_url()
    # Every recipient may open it.
    for n in Notification.objects.filter(event="evaluation_submitted").select_related("recipient"):
        assert can_view_evaluation(n.recipient, FinalEvaluation.objects.get(pk=evaluation.pk))


def test_an_inactive_focal_point_is_not_told(
    action, staff, approver, partner, colleague, evaluator
):
    colleague.is_active = False
    colleague.save(update_fields=["is_active"])
    submitted_evaluation(action, evaluator, staff=staff, approver=approver, partner=partner)
    assert told("evaluation_submitted") == ["partner", "staff"]


def test_closing_tells_the_partner_only(action, staff, approver, partner, colleague, evaluator):
    submitted_evaluation(action, evaluator, staff=staff, approver=approver, partner=partner)
    action_services.action_transition(action_id=action.pk, name="close", by=staff, text="")
    assert told("action_closed") == ["colleague", "partner"]
    for n in Notification.objects.filter(event="action_closed").select_related("recipient"):
        assert n.target == action
        assert can_view_action(n.recipient, n.target)


def test_a_follow_up_request_tells_the_partner_once(
    action, staff, approver, partner, colleague, evaluator
):
    submitted_evaluation(action, evaluator, staff=staff, approver=approver, partner=partner)
    recommendation = Recommendation.objects.filter(evaluation__action=action).first()
    request = services.recommendation_follow_up(recommendation_id=recommendation.pk, by=staff)
    assert told("follow_up_request_opened") == ["colleague", "partner"]
    for n in Notification.objects.filter(event="follow_up_request_opened").select_related(
        "recipient"
    ):
        assert n.context == {"action_reference": action.reference, "action_title": action.title}
        assert n.url == request.get_absolute_url()
        assert can_edit_request(n.recipient, request)


# --- every email in three languages ------------------------------------------------------------


@pytest.fixture
def every_event(
    action,
    staff,
    approver,
    partner,
    evaluator,
    evaluator2,
    django_capture_on_commit_callbacks,
    mailoutbox,
):
    """Fire each evaluations event once; returns {event: one of its notifications}."""
    last = Notification.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    with django_capture_on_commit_callbacks(execute=True):
        action_services.action_update(
            action_id=action.pk, by=staff, data={"evaluators": [evaluator, evaluator2]}
        )
        indicator = make_indicator(action, evaluator)
        services.measurements_remind_due(today=indicator.next_due())
        action_services.action_transition(action_id=action.pk, name="complete", by=staff, text="")
        action.refresh_from_db()
        services.evaluations_remind_due(today=timezone.localdate())
        submitted_evaluation(action, evaluator, staff=staff, approver=approver, partner=partner)
        recommendation = Recommendation.objects.filter(evaluation__action=action).first()
        services.recommendation_follow_up(recommendation_id=recommendation.pk, by=staff)
        action_services.action_transition(action_id=action.pk, name="close", by=staff, text="")
    found = {
        event: Notification.objects.filter(event=event, pk__gt=last)
        .select_related("recipient")
        .first()
        for event in EVENTS
    }
    assert all(found.values()), found
    return found


def test_every_event_is_delivered_by_email(every_event, mailoutbox):
    for event, notification in every_event.items():
        notification.refresh_from_db()
        assert notification.email_status == DeliveryStatus.SENT, event
    subjects = {m.subject for m in mailoutbox}
    assert {n.subject for n in every_event.values()} <= subjects


EXPECTED_IN_BODY = {
    "evaluator_assigned": lambda n: n.target.reference,
    "evaluation_submitted": lambda n: n.target.action.title,
    "measurement_due": lambda n: n.target.name,
    "evaluation_due": lambda n: n.target.title,
    "follow_up_request_opened": lambda n: n.context["action_reference"],
    "action_closed": lambda n: n.target.title,
}
EXPECTED_IN_SUBJECT = {
    "evaluator_assigned": lambda n: n.target.reference,
    "evaluation_submitted": lambda n: n.target.action.reference,
    "measurement_due": lambda n: n.target.name,
    "evaluation_due": lambda n: n.target.reference,
    "follow_up_request_opened": lambda n: n.context["action_reference"],
    "action_closed": lambda n: n.target.reference,
}


@pytest.mark.parametrize("language", ["en", "fr", "es"])
@pytest.mark.parametrize("event", EVENTS)
def test_every_email_renders_in_the_recipients_language(every_event, event, language):
    notification = every_event[event]
    user = notification.recipient
    user.language = language
    user.save(update_fields=["language"])
    notification.refresh_from_db()

    email = build_email(notification)

    assert email.to == [user.email]
    assert email.subject and "\n" not in email.subject
    assert EXPECTED_IN_SUBJECT[event](notification) in email.subject
    assert email.body.startswith(greeting(user, language)), email.body[:80]
    assert EXPECTED_IN_BODY[event](notification) in email.body
    assert settings.SITE_URL + notification.url in email.body
    html, mimetype = email.alternatives[0]
    assert mimetype == "text/html"
    assert f'<html lang="{language}">' in html
    assert greeting(user, language).replace("'", "&#x27;") in html
    assert settings.SITE_URL + notification.url in html
    assert "{%" not in email.body + html and "{{" not in email.body + html


@pytest.mark.parametrize("event", EVENTS)
def test_every_email_is_translated(every_event, event):
    notification = every_event[event]
    user = notification.recipient
    rendered = {}
    for language in ("en", "fr", "es"):
        user.language = language
        user.save(update_fields=["language"])
        notification.refresh_from_db()
        email = build_email(notification)
        # The sentence after the greeting, and the subject.
        rendered[language] = (email.subject, email.body.split("\n\n")[1])
    assert rendered["fr"][0] != rendered["en"][0]
    assert rendered["es"][0] != rendered["en"][0]
    assert rendered["fr"][1] != rendered["en"][1]
    assert rendered["es"][1] != rendered["en"][1]
