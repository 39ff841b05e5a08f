"""Who hears about each request and assessment transition — once, in their language."""

from __future__ import annotations

import pytest
from django.utils import translation
from django.utils.translation import gettext

from cbportal.core.errors import ApplicationError
from cbportal.core.models import DeliveryStatus, Notification
from requests_app import services
from tests.factories import UserFactory


@pytest.fixture
def colleague(organisation):
    """A second focal point of the partner's organisation."""
    return UserFactory(username="colleague", partner=True, organisation=organisation)


@pytest.fixture
def audience(personas, colleague, organisation):
    """Everyone who could wrongly be told: the personas, a colleague, inactive accounts."""
    UserFactory(username="gone-partner", partner=True, organisation=organisation, is_active=False)
    UserFactory(username="gone-staff", is_active=False)
    return personas


def recipients(event):
    rows = Notification.objects.filter(event=event).select_related("recipient")
    return sorted(n.recipient.username for n in rows)


def mailed(mailoutbox):
    return sorted(address.split("@")[0] for message in mailoutbox for address in message.to)


def email_to(mailoutbox, username):
    (message,) = [m for m in mailoutbox if m.to == [f"{username}@example.org"]]
    return message


def test_it_acknowledges_a_submission_and_alerts_staff(
    audience, request_factory, partner, django_capture_on_commit_callbacks, mailoutbox
):
    request = request_factory()
    with django_capture_on_commit_callbacks(execute=True):
        services.request_submit(request_id=request.pk, by=partner)
    request.refresh_from_db()
    assert recipients("request_submitted") == ["colleague", "partner"]
    assert recipients("request_received") == ["approver", "staff"]
    assert Notification.objects.count() == 4
    assert mailed(mailoutbox) == ["approver", "colleague", "partner", "staff"]
    assert set(Notification.objects.values_list("email_status", flat=True)) == {DeliveryStatus.SENT}
    ack = email_to(mailoutbox, "partner")
    assert ack.subject == f"Request {request.reference} received"
    assert "within 2 working days" in ack.body
    alert = email_to(mailoutbox, "staff")
    assert alert.subject == f"New request {request.reference} from {request.organisation}"
    assert request.get_absolute_url() in alert.body
    notification = Notification.objects.get(event="request_received", recipient__username="staff")
    assert (notification.target, notification.url) == (request, request.get_absolute_url())


def test_it_tells_nobody_when_review_starts(
    audience, request_in, staff, django_capture_on_commit_callbacks, mailoutbox
):
    request = request_in("submitted")
    before = Notification.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        services.request_start_review(request_id=request.pk, by=staff)
    assert Notification.objects.count() == before
    assert mailoutbox == []


def test_it_sends_the_question_to_the_partners_organisation(
    audience, request_in, staff, django_capture_on_commit_callbacks, mailoutbox
):
    request = request_in("under_review")
    with django_capture_on_commit_callbacks(execute=True):
        services.request_request_info(
            request_id=request.pk, by=staff, message="Which units would take part?"
        )
    assert recipients("request_info_requested") == ["colleague", "partner"]
    assert mailed(mailoutbox) == ["colleague", "partner"]
    email = email_to(mailoutbox, "partner")
    assert email.subject == f"Question about request {request.reference}"
    assert "Which units would take part?" in email.body


def test_it_sends_the_answer_to_the_case_officer(
    audience, request_in, partner, django_capture_on_commit_callbacks, mailoutbox
):
    request = request_in("info_requested")
    with django_capture_on_commit_callbacks(execute=True):
        services.request_respond(request_id=request.pk, by=partner, message="The border unit.")
    assert recipients("request_responded") == ["staff"]
    assert mailed(mailoutbox) == ["staff"]
    assert "The border unit." in mailoutbox[0].body


def test_it_tells_the_case_officer_not_a_colleague_who_asked_first(
    audience, request_in, partner, approver, django_capture_on_commit_callbacks, mailoutbox
):
    request = request_in("submitted")
    services.request_request_info(request_id=request.pk, by=approver, message="Which units?")
    with django_capture_on_commit_callbacks(execute=True):
        services.request_respond(request_id=request.pk, by=partner, message="Two.")
    assert recipients("request_responded") == ["approver"]
    assert mailed(mailoutbox) == ["approver"]


def test_it_tells_the_partners_organisation_of_an_acceptance(
    audience, request_in, staff, django_capture_on_commit_callbacks, mailoutbox
):
    request = request_in("under_review")
    with django_capture_on_commit_callbacks(execute=True):
        services.request_accept(request_id=request.pk, by=staff)
    assert recipients("request_accepted") == ["colleague", "partner"]
    assert mailed(mailoutbox) == ["colleague", "partner"]
    assert mailoutbox[0].subject == f"Request {request.reference} accepted"


def test_it_gives_the_partner_the_reason_for_a_decline(
    audience, request_in, staff, django_capture_on_commit_callbacks, mailoutbox
):
    request = request_in("info_requested")
    with django_capture_on_commit_callbacks(execute=True):
        services.request_decline(
            request_id=request.pk, by=staff, reason="Outside the programme's mandate."
        )
    assert recipients("request_declined") == ["colleague", "partner"]
    assert mailed(mailoutbox) == ["colleague", "partner"]
    email = email_to(mailoutbox, "partner")
    assert email.subject == f"Request {request.reference} declined"
    assert "Outside the programme's mandate." in email.body
    html, mimetype = email.alternatives[0]
    assert mimetype == "text/html"
    assert "Outside the programme" in html


@pytest.mark.parametrize("state", ["under_review", "info_requested"])
def test_it_tells_the_case_officer_of_a_withdrawal(
    audience, request_in, partner, state, django_capture_on_commit_callbacks, mailoutbox
):
    request = request_in(state)
    with django_capture_on_commit_callbacks(execute=True):
        services.request_withdraw(request_id=request.pk, by=partner)
    assert recipients("request_withdrawn") == ["staff"]
    assert mailed(mailoutbox) == ["staff"]
    assert mailoutbox[0].subject == f"Request {request.reference} withdrawn"


@pytest.mark.parametrize("state", ["draft", "submitted"])
def test_it_tells_nobody_of_a_withdrawal_before_review(
    audience, request_in, partner, state, django_capture_on_commit_callbacks, mailoutbox
):
    request = request_in(state)
    with django_capture_on_commit_callbacks(execute=True):
        services.request_withdraw(request_id=request.pk, by=partner)
    assert recipients("request_withdrawn") == []
    assert mailoutbox == []


def test_it_asks_the_partners_organisation_to_review_a_shared_assessment(
    audience, assessment_in, staff, django_capture_on_commit_callbacks, mailoutbox
):
    assessment = assessment_in("in_progress")
    with django_capture_on_commit_callbacks(execute=True):
        services.assessment_share(assessment_id=assessment.pk, by=staff)
    assert recipients("assessment_shared") == ["colleague", "partner"]
    assert mailed(mailoutbox) == ["colleague", "partner"]
    reference = assessment.request.reference
    assert mailoutbox[0].subject == f"Needs assessment for {reference} ready for your review"
    assert assessment.get_absolute_url() in mailoutbox[0].body


def test_it_returns_the_partners_comments_to_the_owner(
    audience, assessment_in, partner, django_capture_on_commit_callbacks, mailoutbox
):
    assessment = assessment_in("shared")
    with django_capture_on_commit_callbacks(execute=True):
        services.assessment_return(
            assessment_id=assessment.pk, by=partner, comment="Add the legal framework gap."
        )
    assert recipients("assessment_returned") == ["staff"]
    assert mailed(mailoutbox) == ["staff"]
    assert "Add the legal framework gap." in mailoutbox[0].body


def test_it_tells_the_owner_of_a_validation(
    audience, assessment_in, colleague, django_capture_on_commit_callbacks, mailoutbox
):
    assessment = assessment_in("shared")
    with django_capture_on_commit_callbacks(execute=True):
        services.assessment_validate(assessment_id=assessment.pk, by=colleague)
    assert recipients("assessment_validated") == ["staff"]
    assert mailed(mailoutbox) == ["staff"]
    reference = assessment.request.reference
    assert mailoutbox[0].subject == f"Needs assessment for {reference} validated"


def test_it_notifies_nobody_of_a_refused_transition(
    audience,
    request_in,
    assessment_in,
    partner,
    partner2,
    staff,
    django_capture_on_commit_callbacks,
    mailoutbox,
):
    draft, submitted = request_in("draft"), request_in("submitted")
    under_review = request_in("under_review")
    in_progress = assessment_in("in_progress", gaps=0)
    before = Notification.objects.count()
    refused = [
        lambda: services.request_submit(request_id=draft.pk, by=partner2),
        lambda: services.request_accept(request_id=submitted.pk, by=staff),
        lambda: services.request_decline(request_id=under_review.pk, by=staff, reason=" "),
        lambda: services.request_request_info(
            request_id=under_review.pk, by=UserFactory(), message="Who?"
        ),
        lambda: services.assessment_share(assessment_id=in_progress.pk, by=staff),
    ]
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        for fire in refused:
            with pytest.raises(ApplicationError):
                fire()
    assert callbacks == []
    assert Notification.objects.count() == before
    assert mailoutbox == []


def test_it_writes_to_each_recipient_in_their_language(
    audience, request_factory, partner, colleague, django_capture_on_commit_callbacks, mailoutbox
):
    partner.language = "fr"
    partner.save(update_fields=["language"])
    request = request_factory()
    with django_capture_on_commit_callbacks(execute=True):
        services.request_submit(request_id=request.pk, by=partner)
    request.refresh_from_db()

    with translation.override("fr"):
        subject_fr = gettext("Request %(reference)s received") % {"reference": request.reference}
        hello_fr = gettext("Hello %(name)s,") % {"name": partner.display_name}
    with translation.override("en"):
        hello_en = gettext("Hello %(name)s,") % {"name": colleague.display_name}
    assert hello_fr.startswith("Bonjour")  # the French catalogue is compiled and loaded

    french = email_to(mailoutbox, "partner")
    assert french.subject == subject_fr
    assert french.body.startswith(hello_fr)
    in_app = Notification.objects.get(event="request_submitted", recipient=partner)
    assert in_app.subject == subject_fr

    english = email_to(mailoutbox, "colleague")
    assert english.subject == f"Request {request.reference} received"
    assert english.body.startswith(hello_en)
