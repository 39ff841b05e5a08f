"""Who hears about each action and amendment transition — once, after commit, by email too;
and nobody hears about a refused one."""

from __future__ import annotations

from collections import Counter

import pytest

from actions import services
from actions.models import Action
from cbportal.core.errors import ApplicationError
from cbportal.core.models import DeliveryStatus, Notification
from tests.actions.builders import REASON, advance, make_amendment
from tests.factories import UserFactory


@pytest.fixture
def audience(personas, organisation, admin_user):
    """Everyone who could wrongly be told: the personas, a colleague of the partner, a
    second approver, inactive accounts."""
    UserFactory(username="colleague", partner=True, organisation=organisation)
    UserFactory(username="approver2", approver=True)
    UserFactory(username="gone-partner", partner=True, organisation=organisation, is_active=False)
    UserFactory(username="gone-approver", approver=True, is_active=False)
    return personas


@pytest.fixture
def action_in(audience, designed_action, staff, approver, partner):
    def make(state: str) -> Action:
        return advance(designed_action, state, staff=staff, approver=approver, partner=partner)

    return make


def recipients(event: str) -> list[str]:
    rows = Notification.objects.filter(event=event).select_related("recipient")
    return sorted(n.recipient.username for n in rows)


def mailed(mailoutbox) -> list[str]:
    return sorted(address.split("@")[0] for message in mailoutbox for address in message.to)


def email_to(mailoutbox, username):
    (message,) = [m for m in mailoutbox if m.to == [f"{username}@example.org"]]
    return message


def assert_once(event: str, mailoutbox) -> None:
    """Each recipient has one notification of ``event`` and got one email, marked sent."""
    rows = Notification.objects.filter(event=event)
    assert rows.exists()
    assert max(Counter(rows.values_list("recipient_id", flat=True)).values()) == 1
    assert Counter(mailed(mailoutbox)) == Counter(recipients(event))
    assert set(rows.values_list("email_status", flat=True)) == {DeliveryStatus.SENT}


def fire(action, name, user, text="", capture=None):
    with capture(execute=True):
        return services.action_transition(action_id=action.pk, name=name, by=user, text=text)


# --- actions ----------------------------------------------------------------------------


def test_it_asks_every_approver_but_the_proposer(
    action_in, staff, django_capture_on_commit_callbacks, mailoutbox
):
    action = action_in("design")
    fire(action, "propose", staff, capture=django_capture_on_commit_callbacks)
    assert recipients("action_proposed") == ["approver", "approver2"]
    assert_once("action_proposed", mailoutbox)
    message = email_to(mailoutbox, "approver")
    assert message.subject == f"Plan {action.reference} proposed for your approval"
    assert staff.display_name in message.body
    assert action.get_absolute_url() in message.body
    assert Notification.objects.filter(event__startswith="action_").count() == 2


def test_it_does_not_ask_the_proposer_to_approve(
    action_in, approver, django_capture_on_commit_callbacks, mailoutbox
):
    action = action_in("design")
    fire(action, "propose", approver, capture=django_capture_on_commit_callbacks)
    assert recipients("action_proposed") == ["approver2"]
    assert mailed(mailoutbox) == ["approver2"]


def test_it_returns_the_plan_to_its_proposer_with_the_reason(
    action_in, approver, django_capture_on_commit_callbacks, mailoutbox
):
    action = action_in("proposed")
    mailoutbox.clear()
    fire(
        action,
        "return",
        approver,
        text="Add a study visit.",
        capture=django_capture_on_commit_callbacks,
    )
    assert recipients("action_returned") == ["staff"]
    assert_once("action_returned", mailoutbox)
    message = email_to(mailoutbox, "staff")
    assert message.subject == f"Plan {action.reference} returned to design"
    assert "Add a study visit." in message.body
    assert Notification.objects.get(event="action_returned").context == {
        "reason": "Add a study visit."
    }


def test_it_returns_the_plan_to_whoever_proposed_it(
    designed_action, audience, staff, approver, django_capture_on_commit_callbacks
):
    second = UserFactory(username="approver3", approver=True)
    services.action_propose(action_id=designed_action.pk, by=second)
    with django_capture_on_commit_callbacks(execute=True):
        services.action_return(action_id=designed_action.pk, by=approver, reason="Too vague.")
    assert recipients("action_returned") == ["approver3"]


def test_it_asks_the_partner_to_co_sign_and_tells_the_case_officer(
    action_in, approver, django_capture_on_commit_callbacks, mailoutbox
):
    action = action_in("proposed")
    mailoutbox.clear()
    fire(action, "approve", approver, capture=django_capture_on_commit_callbacks)
    assert recipients("action_approved") == ["colleague", "partner", "staff"]
    assert_once("action_approved", mailoutbox)
    message = email_to(mailoutbox, "partner")
    assert message.subject == f"Plan {action.reference} approved"
    assert "co-signature" in message.body


def test_it_tells_the_case_officer_when_the_partner_co_signs(
    action_in, partner, django_capture_on_commit_callbacks, mailoutbox
):
    action = action_in("approved")
    mailoutbox.clear()
    fire(
        action, "sign", partner, text="Amira Ben Salah", capture=django_capture_on_commit_callbacks
    )
    assert recipients("action_signed") == ["staff"]
    assert_once("action_signed", mailoutbox)
    message = email_to(mailoutbox, "staff")
    assert message.subject == f"Plan {action.reference} co-signed by the partner"
    assert "Amira Ben Salah" in message.body


def test_it_tells_the_partner_when_implementation_starts(
    action_in, staff, django_capture_on_commit_callbacks, mailoutbox
):
    action = action_in("signed")
    mailoutbox.clear()
    fire(action, "start", staff, capture=django_capture_on_commit_callbacks)
    assert recipients("action_started") == ["colleague", "partner"]
    assert_once("action_started", mailoutbox)
    assert email_to(mailoutbox, "partner").subject == f"Action {action.reference} has started"


@pytest.mark.parametrize(
    ("transition", "source", "subject"),
    [
        ("suspend", "in_implementation", "Action {} suspended"),
        ("suspend", "approved", "Action {} suspended"),
        ("resume", "suspended", "Action {} resumed"),
        ("cancel", "in_implementation", "Action {} cancelled"),
        ("cancel", "approved", "Action {} cancelled"),
    ],
)
def test_it_tells_the_partner_why_the_action_stops_or_resumes(
    action_in, staff, django_capture_on_commit_callbacks, mailoutbox, transition, source, subject
):
    action = action_in(source)
    event = {"suspend": "action_suspended", "resume": "action_resumed"}.get(
        transition, "action_cancelled"
    )
    before = Notification.objects.filter(event=event).count()
    mailoutbox.clear()
    fire(action, transition, staff, text=REASON, capture=django_capture_on_commit_callbacks)
    assert Notification.objects.filter(event=event).count() == before + 2
    new = Notification.objects.filter(event=event).order_by("-id")[:2]
    assert sorted(n.recipient.username for n in new) == ["colleague", "partner"]
    assert mailed(mailoutbox) == ["colleague", "partner"]
    message = email_to(mailoutbox, "partner")
    assert message.subject == subject.format(action.reference)
    assert REASON in message.body


def test_it_tells_nobody_when_implementation_completes(
    action_in, staff, django_capture_on_commit_callbacks, mailoutbox
):
    action = action_in("in_implementation")
    before = Notification.objects.count()
    mailoutbox.clear()
    fire(action, "complete", staff, capture=django_capture_on_commit_callbacks)
    assert Notification.objects.count() == before
    assert mailoutbox == []


def test_it_tells_each_person_once_along_the_whole_way(
    action_in, staff, approver, partner, django_capture_on_commit_callbacks, mailoutbox
):
    action = action_in("design")
    for name, user, text in [
        ("propose", staff, ""),
        ("return", approver, "Add a study visit."),
        ("propose", staff, ""),
        ("approve", approver, ""),
        ("sign", partner, ""),
        ("start", staff, ""),
        ("suspend", staff, "Elections."),
        ("resume", staff, "Elections over."),
        ("cancel", staff, "Funding ended."),
    ]:
        fire(action, name, user, text=text, capture=django_capture_on_commit_callbacks)
    counts = Counter(
        Notification.objects.filter(event__startswith="action_").values_list(
            "event", "recipient__username"
        )
    )
    assert counts == Counter(
        {
            ("action_proposed", "approver"): 2,  # proposed twice: one notification each time
            ("action_proposed", "approver2"): 2,
            ("action_returned", "staff"): 1,
            ("action_approved", "partner"): 1,
            ("action_approved", "colleague"): 1,
            ("action_approved", "staff"): 1,
            ("action_signed", "staff"): 1,
            ("action_started", "partner"): 1,
            ("action_started", "colleague"): 1,
            ("action_suspended", "partner"): 1,
            ("action_suspended", "colleague"): 1,
            ("action_resumed", "partner"): 1,
            ("action_resumed", "colleague"): 1,
            ("action_cancelled", "partner"): 1,
            ("action_cancelled", "colleague"): 1,
        }
    )
    assert Counter(mailed(mailoutbox)) == Counter(user for _event, user in counts.elements())


@pytest.mark.parametrize(
    ("source", "transition", "persona", "text"),
    [
        ("proposed", "approve", "staff", ""),  # no approver flag
        ("approved", "start", "staff", ""),  # not co-signed
        ("signed", "sign", "partner", ""),  # signed already
        ("completed", "close", "staff", ""),  # no final evaluation
        ("in_implementation", "suspend", "staff", ""),  # no reason
        ("approved", "cancel", "partner", REASON),  # not the partner's call
        ("design", "propose", "partner2", ""),  # not theirs
    ],
)
def test_it_tells_nobody_about_a_refused_transition(
    action_in,
    personas,
    django_capture_on_commit_callbacks,
    mailoutbox,
    source,
    transition,
    persona,
    text,
):
    action = action_in(source)
    before = Notification.objects.count()
    mailoutbox.clear()
    with pytest.raises(ApplicationError):
        fire(
            action,
            transition,
            personas[persona],
            text=text,
            capture=django_capture_on_commit_callbacks,
        )
    assert Notification.objects.count() == before
    assert mailoutbox == []


def test_it_tells_nobody_when_the_proposer_tries_to_approve(
    action_in, approver, django_capture_on_commit_callbacks, mailoutbox
):
    action = action_in("design")
    fire(action, "propose", approver, capture=django_capture_on_commit_callbacks)
    before = Notification.objects.count()
    mailoutbox.clear()
    with pytest.raises(ApplicationError, match="four-eyes"):
        fire(action, "approve", approver, capture=django_capture_on_commit_callbacks)
    assert Notification.objects.count() == before
    assert mailoutbox == []


# --- amendments -------------------------------------------------------------------------


@pytest.fixture
def amendment_in(action_in, staff, approver, partner):
    def make(state: str):
        action = action_in("in_implementation")
        return make_amendment(action, state, staff=staff, approver=approver, partner=partner)

    return make


def fire_amendment(amendment, name, user, text="", capture=None):
    with capture(execute=True):
        return services.amendment_transition(
            amendment_id=amendment.pk, name=name, by=user, text=text
        )


def test_it_asks_the_approvers_to_approve_an_amendment(
    amendment_in, staff, django_capture_on_commit_callbacks, mailoutbox
):
    amendment = amendment_in("draft")
    mailoutbox.clear()
    fire_amendment(amendment, "propose", staff, capture=django_capture_on_commit_callbacks)
    assert recipients("amendment_proposed") == ["approver", "approver2"]
    assert_once("amendment_proposed", mailoutbox)
    message = email_to(mailoutbox, "approver")
    assert message.subject == (
        f"Amendment 1 of {amendment.action.reference} proposed for your approval"
    )
    assert amendment.get_absolute_url() in message.body


def test_it_does_not_ask_the_proposer_of_an_amendment(
    amendment_in, approver, django_capture_on_commit_callbacks
):
    amendment = amendment_in("draft")
    fire_amendment(amendment, "propose", approver, capture=django_capture_on_commit_callbacks)
    assert recipients("amendment_proposed") == ["approver2"]


def test_it_asks_the_partner_to_co_sign_an_approved_amendment(
    amendment_in, approver, django_capture_on_commit_callbacks, mailoutbox
):
    amendment = amendment_in("proposed")
    mailoutbox.clear()
    fire_amendment(amendment, "approve", approver, capture=django_capture_on_commit_callbacks)
    assert recipients("amendment_approved") == ["colleague", "partner", "staff"]
    assert_once("amendment_approved", mailoutbox)
    assert email_to(mailoutbox, "partner").subject == (
        f"Amendment 1 of {amendment.action.reference} approved"
    )


def test_it_tells_the_case_officer_and_the_partner_when_an_amendment_applies(
    amendment_in, partner, django_capture_on_commit_callbacks, mailoutbox
):
    amendment = amendment_in("approved")
    mailoutbox.clear()
    fire_amendment(amendment, "sign", partner, capture=django_capture_on_commit_callbacks)
    assert recipients("amendment_applied") == ["colleague", "partner", "staff"]
    assert_once("amendment_applied", mailoutbox)
    assert email_to(mailoutbox, "staff").subject == (
        f"Amendment 1 of {amendment.action.reference} applied"
    )


@pytest.mark.parametrize(
    ("source", "transition", "persona"),
    [
        ("proposed", "reject", "approver"),
        ("approved", "decline", "partner"),
        ("proposed", "discard", "approver"),
    ],
)
def test_it_tells_the_drafter_why_an_amendment_was_not_adopted(
    amendment_in,
    personas,
    django_capture_on_commit_callbacks,
    mailoutbox,
    source,
    transition,
    persona,
):
    amendment = amendment_in(source)
    mailoutbox.clear()
    fire_amendment(
        amendment,
        transition,
        personas[persona],
        text="The budget does not allow it.",
        capture=django_capture_on_commit_callbacks,
    )
    assert recipients("amendment_rejected") == ["staff"]
    assert_once("amendment_rejected", mailoutbox)
    message = email_to(mailoutbox, "staff")
    assert message.subject == f"Amendment 1 of {amendment.action.reference} not adopted"
    assert "The budget does not allow it." in message.body


@pytest.mark.parametrize(
    ("source", "transition", "persona", "text"),
    [
        ("draft", "propose", "partner", ""),
        ("proposed", "approve", "staff", ""),
        ("proposed", "reject", "approver", ""),
        ("approved", "sign", "staff", ""),
        ("approved", "decline", "partner", ""),
    ],
)
def test_it_tells_nobody_about_a_refused_amendment_transition(
    amendment_in,
    personas,
    django_capture_on_commit_callbacks,
    mailoutbox,
    source,
    transition,
    persona,
    text,
):
    amendment = amendment_in(source)
    before = Notification.objects.count()
    mailoutbox.clear()
    with pytest.raises(ApplicationError):
        fire_amendment(
            amendment,
            transition,
            personas[persona],
            text=text,
            capture=django_capture_on_commit_callbacks,
        )
    assert Notification.objects.count() == before
    assert mailoutbox == []


def test_it_tells_nobody_when_a_moved_plan_stops_the_signature(
    amendment_in, partner, django_capture_on_commit_callbacks, mailoutbox
):
    from actions.models import Activity

    amendment = amendment_in("approved")
    Activity.objects.update(city="Sfax")
    before = Notification.objects.count()
    mailoutbox.clear()
    with pytest.raises(ApplicationError, match="changed since"):
        fire_amendment(amendment, "sign", partner, capture=django_capture_on_commit_callbacks)
    assert Notification.objects.count() == before
    assert mailoutbox == []


@pytest.mark.parametrize("case", ["discard own draft", "return own proposal"])
def test_it_does_not_tell_people_what_they_just_did(
    amendment_in, action_in, staff, approver, django_capture_on_commit_callbacks, case
):
    if case == "discard own draft":
        amendment = amendment_in("draft")
        fire_amendment(
            amendment,
            "discard",
            staff,
            text="Not needed after all.",
            capture=django_capture_on_commit_callbacks,
        )
        assert recipients("amendment_rejected") == []
    else:
        action = action_in("design")
        fire(action, "propose", approver, capture=django_capture_on_commit_callbacks)
        fire(
            action,
            "return",
            approver,
            text="Wrong version.",
            capture=django_capture_on_commit_callbacks,
        )
        assert recipients("action_returned") == []
