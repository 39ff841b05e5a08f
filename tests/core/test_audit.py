"""The audit log (issue 9): every transition, vetting decision, permission-relevant change
and data export is recorded with actor, time and details (cbportal/core/audit.py); staff
browse and filter it at ``/audit/`` and ``GET /api/v1/audit/``; nobody — administrators
included — can change or delete an entry through the ORM, the admin, the API or (on
PostgreSQL, by a trigger) a bulk query."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django import forms
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from actions import services as action_services
from cbportal.accounts import services as account_services
from cbportal.accounts.models import User
from cbportal.core import audit
from cbportal.core.models import (
    AuditEntry,
    AuditKind,
    TransitionEvent,
)
from cbportal.core.services import record_transition
from experts import services as expert_services
from requests_app.models import AssistanceRequest
from tests.actions.builders import make_action, make_assessment
from tests.experts.builders import make_expert
from tests.factories import UserFactory
from tests.requests_app.helpers import make_request

PAGE = reverse("core:audit")
API = "/api/v1/audit/"


def submitted_request(partner: Any, title: str = "Border data exchange") -> AssistanceRequest:
    return make_request("submitted", partner, title=title)


def entries(kind: str, **filters: Any) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(kind=kind, **filters).order_by("id"))


def only(kind: str, **filters: Any) -> AuditEntry:
    found = entries(kind, **filters)
    assert len(found) == 1, found
    return found[0]


def target_of(obj: Any) -> dict[str, Any]:
    return {"content_type": ContentType.objects.get_for_model(obj), "object_id": obj.pk}


def lines(entry: AuditEntry) -> dict[str, str]:
    return dict(audit.detail_lines(entry))


# --- recording ------------------------------------------------------------------------------


def test_it_records_a_transition_with_actor_time_and_details(partner):
    before = timezone.now()
    request = submitted_request(partner)
    entry = only(AuditKind.TRANSITION, **target_of(request))
    assert entry.actor == partner
    assert entry.actor_name == partner.display_name
    assert before <= entry.created_at <= timezone.now()
    assert entry.target_repr == request.reference
    event = TransitionEvent.objects.get(**target_of(request))
    assert entry.details == {
        "transition": "submit",
        "from": "draft",
        "to": "submitted",
        "comment": "",
        "event": event.pk,
    }
    assert lines(entry) == {"Transition": "Submit", "From": "Draft", "To": "Submitted"}


def test_it_files_vetting_decisions_apart_with_the_note(staff, expert):
    profile = make_expert(expert, by=staff, vetted=False)
    expert_services.expert_vet(
        expert_id=profile.pk, by=staff, decision="reject", note="References unverifiable."
    )
    entry = only(AuditKind.VETTING, **target_of(profile))
    assert entry.actor == staff
    assert entry.details["transition"] == "reject"
    assert entry.details["comment"] == "References unverifiable."
    assert lines(entry)["To"] == "Rejected"
    assert not entries(AuditKind.TRANSITION, **target_of(profile))


def test_it_files_the_transitions_of_a_related_object_under_its_action(partner, staff, approver):
    action = make_action(partner, staff)
    action_services.action_transition(action_id=action.pk, name="propose", by=staff)
    entry = only(AuditKind.TRANSITION, **target_of(action))
    assert entry.target_repr == action.reference
    assert entry.details["transition"] == "propose"


def test_it_files_an_assessment_under_its_requests_reference(partner, staff):
    assessment = make_assessment(partner, staff, "shared")
    entry = only(AuditKind.TRANSITION, **target_of(assessment))
    assert entry.details["transition"] == "share"
    assert entry.target_repr == assessment.request.reference


def test_describing_an_object_stops_on_a_cycle_of_loaded_relations():
    first, second = UserFactory(), UserFactory()
    first.lead, second.lead = second, first
    assert audit.describe(first) == first.username


def test_it_records_the_evaluators_added_and_removed_through_the_service(partner, staff, evaluator):
    action = make_action(partner, staff)
    other = UserFactory(evaluator=True, first_name="Kofi", last_name="Mensah")
    action_services.action_update(action_id=action.pk, by=staff, data={"evaluators": [evaluator]})
    action_services.action_update(action_id=action.pk, by=staff, data={"evaluators": [other]})
    # Setting the same evaluators again changes nothing and records nothing.
    action_services.action_update(action_id=action.pk, by=staff, data={"evaluators": [other]})
    first, second = entries(AuditKind.EVALUATORS, **target_of(action))
    assert first.actor == staff
    assert first.details == {
        "added": [{"id": evaluator.pk, "name": evaluator.display_name}],
        "removed": [],
    }
    assert second.details == {
        "added": [{"id": other.pk, "name": "Kofi Mensah"}],
        "removed": [{"id": evaluator.pk, "name": evaluator.display_name}],
    }
    assert lines(second) == {"Added": "Kofi Mensah", "Removed": evaluator.display_name}


def test_the_evaluator_assignment_through_the_api_is_recorded_too(
    partner, staff, evaluator, api_as
):
    action = make_action(partner, staff)
    response = api_as(staff).patch(
        f"/api/v1/actions/{action.pk}/", {"evaluators": [evaluator.pk]}, format="json"
    )
    assert response.status_code == 200, response.content
    assert only(AuditKind.EVALUATORS, actor=staff).details["added"][0]["id"] == evaluator.pk


def test_it_records_an_invitation_and_its_acceptance(staff, organisation):
    invitation = account_services.invitation_create(
        by=staff, email="focal@example.org", role="partner", organisation=organisation
    )
    user = invitation.user
    created = only(AuditKind.ACCOUNT_CREATED, **target_of(user))
    assert created.actor == staff
    assert created.target_repr == "focal@example.org"
    assert created.details["how"] == "invitation"
    assert created.details["role"] == "partner"
    assert created.details["organisation"] == {"id": organisation.pk, "name": str(organisation)}
    account_services.invitation_accept(
        token=account_services.invitation_token(invitation), password="a-long-passphrase-9"
    )
    assert only(AuditKind.INVITATION_ACCEPTED, **target_of(user)).actor == user


def test_it_records_two_factor_changes(partner):
    from django_otp.oath import totp

    device = account_services.totp_device_start(user=partner)
    account_services.totp_device_confirm(user=partner, token=str(totp(device.bin_key)).zfill(6))
    account_services.totp_device_remove(user=partner)
    changes = [e.details["change"] for e in entries(AuditKind.TWO_FACTOR, actor=partner)]
    assert changes == ["enabled", "disabled"]


def test_it_records_the_erasure_and_erases_the_person_from_the_log(staff, expert):
    profile = make_expert(expert, by=staff, vetted=False, name="Amina Diallo")
    expert_services.expert_vet(
        expert_id=profile.pk, by=staff, decision="reject", note="Amina's references failed."
    )
    audit.audit_record(kind=AuditKind.TWO_FACTOR, by=expert, target=expert, details={})
    expert_services.expert_anonymise(expert_id=profile.pk, by=staff)
    erasure = only(AuditKind.ERASURE, **target_of(profile))
    assert erasure.actor == staff
    assert only(AuditKind.VETTING, **target_of(profile)).details["comment"] == ""
    own = only(AuditKind.TWO_FACTOR, **target_of(expert))
    assert own.actor_name == f"Former expert #{profile.pk}"
    assert own.target_repr.startswith("deleted-expert-")
    assert not AuditEntry.objects.filter(actor_name__icontains="Amina").exists()
    assert not AuditEntry.objects.filter(target_repr__icontains="expert@").exists()


# --- the Django admin's user pages ------------------------------------------------------


def admin_form_data(client: Any, url: str) -> dict[str, Any]:
    """The change form's current values, as the browser would post them back."""
    form = client.get(url).context["adminform"].form
    data: dict[str, Any] = {}
    for name, field in form.fields.items():
        value = form[name].value()
        if isinstance(field.widget, forms.MultiWidget):
            for i, part in enumerate(field.widget.decompress(value)):
                if part is not None:
                    data[f"{name}_{i}"] = str(part)
        elif isinstance(value, bool):
            if value:
                data[name] = "on"
        elif isinstance(value, list | tuple):
            data[name] = [str(v) for v in value]
        elif value is not None:
            data[name] = str(value)
    return data


def admin_save(client: Any, user: Any, **changes: Any) -> None:
    url = reverse("admin:accounts_user_change", args=[user.pk])
    data = admin_form_data(client, url)
    for name, value in changes.items():
        if value is False:
            data.pop(name, None)
        else:
            data[name] = "on" if value is True else value
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors


def test_it_records_an_admin_role_and_approver_change(client, admin_user):
    user = UserFactory(evaluator=True)
    client.force_login(admin_user)
    admin_save(client, user, role="staff")
    admin_save(client, user, is_approver=True)
    role, approver = entries(AuditKind.ROLE, **target_of(user))
    assert role.actor == admin_user
    assert role.details == {"changes": {"role": ["evaluator", "staff"]}}
    assert lines(role) == {"Role": "Evaluator → Programme staff"}
    assert approver.details == {"changes": {"is_approver": [False, True]}}
    assert lines(approver) == {"Approver": "no → yes"}


def test_it_records_admin_changes_of_organisation_groups_and_active_flag(
    client, admin_user, partner, other_organisation, organisation
):
    group = Group.objects.create(name="Auditors")
    client.force_login(admin_user)
    admin_save(client, partner, organisation=str(other_organisation.pk))
    admin_save(client, partner, groups=[str(group.pk)], is_staff=True)
    admin_save(client, partner, is_active=False)
    moved = only(AuditKind.ORGANISATION, **target_of(partner))
    assert moved.details == {
        "before": {"id": organisation.pk, "name": str(organisation)},
        "after": {"id": other_organisation.pk, "name": str(other_organisation)},
    }
    assert only(AuditKind.ROLE, **target_of(partner)).details == {
        "changes": {"groups": [[], ["Auditors"]], "is_staff": [False, True]}
    }
    assert only(AuditKind.ACCOUNT_STATUS, **target_of(partner)).details == {
        "is_active": [True, False]
    }


def test_an_admin_save_that_changes_nothing_that_matters_records_nothing(client, admin_user, staff):
    client.force_login(admin_user)
    admin_save(client, staff, first_name="Renamed")
    assert not AuditEntry.objects.filter(**target_of(staff)).exists()


def test_it_records_accounts_created_and_deleted_in_the_admin(client, admin_user):
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:accounts_user_add"),
        {
            "username": "newstaff",
            "password1": "a-long-passphrase-9",
            "password2": "a-long-passphrase-9",
            "usable_password": "true",
            "email": "newstaff@example.org",
            "role": "staff",
            "is_approver": "on",
            "language": "en",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    user = User.objects.get(username="newstaff")
    created = only(AuditKind.ACCOUNT_CREATED, **target_of(user))
    assert created.details["how"] == "administration"
    assert created.details["is_approver"] is True
    pk = user.pk
    response = client.post(
        reverse("admin:accounts_user_delete", args=[pk]), {"post": "yes"}, follow=False
    )
    assert response.status_code == 302
    deleted = only(AuditKind.ACCOUNT_DELETED, object_id=pk)
    assert deleted.target_repr == "newstaff"
    # The entries about the account outlive it; its own actions keep its name.
    assert AuditEntry.objects.filter(object_id=pk).count() == 2


# --- exports ----------------------------------------------------------------------------


def test_it_records_a_page_download_with_its_filters(client, staff, partner):
    submitted_request(partner)
    client.force_login(staff)
    response = client.get(reverse("requests_app:list"), {"status": "submitted", "export": "csv"})
    assert response.status_code == 200
    entry = only(AuditKind.EXPORT, actor=staff)
    assert entry.details == {
        "export": "requests_app:list",
        "path": "/requests/",
        "format": "csv",
        "query": {"status": "submitted", "export": "csv"},
    }
    assert entry.content_type is None
    assert lines(entry)["Format"] == "CSV"


def test_it_records_an_api_download(api_as, staff):
    response = api_as(staff).get("/api/v1/requests/export/", {"file": "xlsx"})
    assert response.status_code == 200
    entry = only(AuditKind.EXPORT, actor=staff)
    assert entry.details["export"] == "api:request-export"
    assert entry.details["format"] == "xlsx"


def test_it_counts_the_rows_of_a_download_that_is_a_list(client, staff):
    client.force_login(staff)
    response = client.get(reverse("dashboard:index"), {"table": "timeliness", "export": "csv"})
    assert response.status_code == 200
    entry = only(AuditKind.EXPORT, actor=staff)
    assert entry.details["rows"] == 2  # first response, decision
    assert lines(entry)["Rows"] == "2"


@pytest.mark.parametrize("via", ["page", "api"])
def test_it_records_the_download_of_an_experts_personal_data(via, client, api_as, staff, expert):
    profile = make_expert(expert, by=staff)
    if via == "page":
        client.force_login(expert)
        response = client.get(reverse("experts:export", args=[profile.pk]))
    else:
        response = api_as(expert).get(reverse("api:expert-data-export", args=[profile.pk]))
    assert response.status_code == 200
    entry = only(AuditKind.EXPORT, **target_of(profile))
    assert entry.actor == expert
    assert entry.details == {"export": "expert_personal_data", "format": "json"}


def test_it_records_the_pdf_report(client, staff, partner, monkeypatch):
    action = make_action(partner, staff)

    class FakeHTML:
        def __init__(self, **kwargs: Any) -> None:
            pass

        def write_pdf(self) -> bytes:
            return b"%PDF-1.7 test"

    # The document itself is tested in tests/actions/test_report.py; here only its audit.
    import weasyprint

    monkeypatch.setattr(weasyprint, "HTML", FakeHTML)
    client.force_login(staff)
    response = client.get(reverse("actions:report-pdf", args=[action.pk]))
    assert response.status_code == 200
    entry = only(AuditKind.EXPORT, **target_of(action))
    assert entry.details["export"] == "actions:report-pdf"
    assert entry.details["format"] == "pdf"
    assert entry.target_repr == action.reference


def test_a_refused_download_records_nothing(client, staff):
    client.force_login(staff)
    response = client.get(reverse("requests_app:list"), {"export": "pdf"})
    assert response.status_code == 400
    assert not entries(AuditKind.EXPORT)


def test_an_export_made_in_a_rolled_back_transaction_leaves_no_entry(staff):
    with pytest.raises(RuntimeError), transaction.atomic():
        audit.audit_record(kind=AuditKind.EXPORT, by=staff, details={})
        raise RuntimeError
    assert not AuditEntry.objects.exists()


def test_an_unknown_kind_is_refused(staff):
    with pytest.raises(ValueError, match="unknown audit kind"):
        audit.audit_record(kind="gossip", by=staff)


# --- immutability -----------------------------------------------------------------------


@pytest.fixture
def entry(staff: Any) -> AuditEntry:
    return audit.audit_record(
        kind=AuditKind.ROLE, by=staff, target=staff, details={"changes": {"role": ["a", "b"]}}
    )


def test_the_orm_refuses_to_change_or_delete_an_entry(entry):
    entry.details = {}
    with pytest.raises(ValidationError):
        entry.save()
    with pytest.raises(ValidationError):
        entry.delete()
    entry.refresh_from_db()
    assert entry.details == {"changes": {"role": ["a", "b"]}}


@pytest.mark.parametrize("model", ["entry", "event"])
def test_the_admin_refuses_to_change_or_delete_even_for_a_superuser(
    model, client, admin_user, entry, partner
):
    if model == "event":
        submitted_request(partner)
        obj: Any = TransitionEvent.objects.get()
        name = "core_transitionevent"
    else:
        obj, name = entry, "core_auditentry"
    client.force_login(admin_user)
    changelist = client.get(reverse(f"admin:{name}_changelist"))
    assert changelist.status_code == 200
    assert "delete_selected" not in changelist.content.decode()
    assert client.get(reverse(f"admin:{name}_add")).status_code == 403
    change_url = reverse(f"admin:{name}_change", args=[obj.pk])
    page = client.get(change_url)
    # Shown read-only: no save button, no delete link.
    assert page.status_code == 200
    body = page.content.decode()
    assert 'name="_save"' not in body
    assert reverse(f"admin:{name}_delete", args=[obj.pk]) not in body
    assert client.post(change_url, {"actor_name": "Mallory"}).status_code == 403
    delete_url = reverse(f"admin:{name}_delete", args=[obj.pk])
    assert client.get(delete_url).status_code == 403
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    response = client.post(
        reverse(f"admin:{name}_changelist"),
        {"action": "delete_selected", "_selected_action": [obj.pk], "post": "yes"},
    )
    assert response.status_code in (200, 302)
    assert type(obj).objects.filter(pk=obj.pk).exists()
    obj.refresh_from_db()
    assert obj.actor_name != "Mallory"


@pytest.mark.parametrize("method", ["put", "patch", "delete", "post"])
def test_the_api_has_no_write_route_even_for_a_superuser(method, api_as, admin_user, entry):
    client = api_as(admin_user)
    url = f"{API}{entry.pk}/" if method != "post" else API
    response = getattr(client, method)(url, {"actor_name": "Mallory"}, format="json")
    assert response.status_code == 405
    entry.refresh_from_db()
    assert entry.actor_name != "Mallory"


def test_deleting_an_account_keeps_its_entries_with_its_name(partner):
    request = submitted_request(partner)
    # An account that wrote history but owns nothing protected (a partner's requests
    # protect their author): deleting it sets the actor of its rows to NULL, which the
    # PostgreSQL trigger allows, and the rows keep its name.
    passer_by = UserFactory(first_name="Pat", last_name="Passer")
    record_transition(
        request, "start-review", by=passer_by, from_state="submitted", to_state="under_review"
    )
    passer_by.delete()
    entry = entries(AuditKind.TRANSITION, **target_of(request))[-1]
    assert entry.actor is None
    assert entry.actor_name == "Pat Passer"
    event = TransitionEvent.objects.filter(**target_of(request)).latest("id")
    assert event.actor is None
    assert event.actor_name == "Pat Passer"


@pytest.fixture
def postgresql_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip(
            "needs PostgreSQL (the trigger of migration core.0006 that refuses bulk updates "
            "and deletes): set DATABASE_URL=postgres://…"
        )


@pytest.mark.postgres
@pytest.mark.usefixtures("postgresql_only")
@pytest.mark.parametrize("table", ["audit", "events"])
def test_postgresql_refuses_bulk_updates_and_deletes(table, partner, entry):
    submitted_request(partner)
    rows: Any = AuditEntry.objects.all() if table == "audit" else TransitionEvent.objects.all()
    before = rows.count()
    for change in (
        lambda: rows.update(actor_name="Mallory"),
        lambda: rows.update(created_at=timezone.now()),
        lambda: rows.update(actor=None, actor_name="Mallory"),
        lambda: rows.delete(),
    ):
        with pytest.raises(IntegrityError, match="immutable"), transaction.atomic():
            change()
    assert rows.count() == before
    assert not rows.filter(actor_name="Mallory").exists()


@pytest.mark.postgres
@pytest.mark.usefixtures("postgresql_only")
# Real transactions: the switches are transaction-local, and a test's own transaction
# would keep them on from one block to the next.
@pytest.mark.django_db(transaction=True)
def test_postgresql_allows_only_what_erasure_and_the_demo_ask_for(partner, entry):
    submitted_request(partner)
    with transaction.atomic():
        audit.allow_erasure()
        AuditEntry.objects.update(actor_name="Former expert", details={})
        TransitionEvent.objects.update(comment="")
        with pytest.raises(IntegrityError), transaction.atomic():
            TransitionEvent.objects.update(transition="approve")
    with transaction.atomic():
        audit.allow_demo_history()
        TransitionEvent.objects.update(created_at=timezone.now() - timedelta(days=90))
        with pytest.raises(IntegrityError), transaction.atomic():
            TransitionEvent.objects.update(actor_name="Mallory")
    # The switches last one transaction only.
    with pytest.raises(IntegrityError), transaction.atomic():
        TransitionEvent.objects.update(created_at=timezone.now())
    assert AuditEntry.objects.filter(actor_name="Former expert").count() == 2


@pytest.mark.postgres
@pytest.mark.usefixtures("postgresql_only")
def test_postgresql_lets_the_erasure_service_through(staff, expert):
    profile = make_expert(expert, by=staff)
    expert_services.expert_anonymise(expert_id=profile.pk, by=staff)
    assert only(AuditKind.ERASURE, **target_of(profile)).actor == staff


# --- the staff page ---------------------------------------------------------------------


def test_the_page_needs_a_sign_in(client):
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


@pytest.mark.parametrize("who", ["partner", "expert", "evaluator"])
def test_the_page_is_refused_to_anyone_but_staff(who, personas, client):
    client.force_login(personas[who])
    assert client.get(PAGE).status_code == 403
    assert client.get(PAGE, {"export": "csv"}).status_code == 403
    assert not entries(AuditKind.EXPORT)


@pytest.mark.parametrize("who", ["staff", "approver", "admin_user"])
def test_staff_approvers_and_administrators_see_the_page(who, request, client, partner):
    submitted_request(partner)
    client.force_login(request.getfixturevalue(who))
    response = client.get(PAGE)
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="audit-row"' in body
    assert "Workflow transition" in body
    assert 'href="/requests/' in body  # the request's page


def test_the_page_filters(client, staff, partner, approver):
    first = submitted_request(partner, title="First")
    submitted_request(partner, title="Second")
    audit.audit_record(kind=AuditKind.ROLE, by=approver, target=staff, details={"changes": {}})
    client.force_login(staff)

    def shown(**params: Any) -> int:
        response = client.get(PAGE, params)
        assert response.status_code == 200, response.content
        return response.content.decode().count('data-testid="audit-row"')

    assert shown() == 3
    assert shown(kind="transition") == 2
    assert shown(kind="role") == 1
    assert shown(actor="approv") == 1
    assert shown(actor=partner.username) == 2
    assert shown(object_type="requests_app.assistancerequest") == 2
    assert shown(object_type="accounts.user") == 1
    assert shown(target=first.reference) == 1
    today = timezone.localdate()
    assert shown(since=today.isoformat(), until=today.isoformat()) == 3
    assert shown(since=(today + timedelta(days=1)).isoformat()) == 0
    assert shown(until=(today - timedelta(days=1)).isoformat()) == 0


def test_the_page_refuses_invalid_filters(client, staff):
    client.force_login(staff)
    response = client.get(PAGE, {"since": "2026-05-02", "until": "2026-05-01"})
    assert response.status_code == 400
    assert "The end date comes before the start date." in response.content.decode()
    assert client.get(PAGE, {"kind": "gossip"}).status_code == 400


def test_the_page_offers_no_way_to_change_an_entry(client, staff, entry):
    client.force_login(staff)
    html = client.get(PAGE).content.decode()
    content = html[html.index('<main id="main"') : html.index("</main>")]
    assert 'data-testid="audit-row"' in content
    assert 'method="post"' not in content
    assert "/admin/" not in content  # not even a link to the admin's (read-only) pages
    assert client.post(PAGE, {"id": entry.pk}).status_code == 405


def test_the_page_downloads_the_filtered_log_and_audits_that(client, staff, partner):
    submitted_request(partner)
    client.force_login(staff)
    response = client.get(PAGE, {"kind": "transition", "export": "csv"})
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    assert "Workflow transition" in text
    assert "Transition: Submit" in text
    assert only(AuditKind.EXPORT, actor=staff).details["export"] == "core:audit"


def test_the_page_reads_a_bounded_number_of_queries(client, staff, partner, evaluator):
    client.force_login(staff)

    def populate(n: int) -> None:
        for i in range(n):
            request = submitted_request(partner, title=f"Case {i}")
            action = make_action(partner, staff) if i == 0 else None
            if action is not None:
                action_services.action_update(
                    action_id=action.pk, by=staff, data={"evaluators": [evaluator]}
                )
            audit.audit_record(kind=AuditKind.ROLE, by=staff, target=partner, details={})
            audit.audit_record(kind=AuditKind.EXPORT, by=staff, target=request, details={})

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(PAGE).status_code == 200
        return len(queries)

    populate(1)
    small = count()
    populate(6)
    assert AuditEntry.objects.count() > 20
    assert count() == small


# --- the API ----------------------------------------------------------------------------


def test_staff_list_filter_and_read_entries(api_as, staff, partner, approver):
    request = submitted_request(partner)
    audit.audit_record(kind=AuditKind.ROLE, by=approver, target=partner, details={"changes": {}})
    client = api_as(approver)
    listed = client.get(API)
    assert listed.status_code == 200
    assert listed.json()["count"] == 2
    newest = listed.json()["results"][0]
    assert newest["kind"] == "role"
    assert newest["kind_label"] == "Role or permission change"
    assert newest["actor_username"] == "approver"
    assert newest["object_type"] == "accounts.user"
    transition = client.get(API, {"kind": "transition"}).json()["results"]
    assert [r["target_repr"] for r in transition] == [request.reference]
    assert transition[0]["detail_lines"][0] == {"label": "Transition", "value": "Submit"}
    assert client.get(API, {"actor": "partner"}).json()["count"] == 1
    assert client.get(API, {"object_type": "accounts.user"}).json()["count"] == 1
    assert client.get(API, {"target": request.reference}).json()["count"] == 1
    later = (timezone.now() + timedelta(minutes=1)).isoformat()
    assert client.get(API, {"created_after": later}).json()["count"] == 0
    assert client.get(API, {"created_before": later}).json()["count"] == 2
    one = client.get(f"{API}{newest['id']}/")
    assert one.status_code == 200
    assert one.json()["details"] == {"changes": {}}
    assert client.get(API, {"kind": "gossip"}).status_code == 400


@pytest.mark.parametrize("who", ["partner", "expert", "evaluator"])
def test_the_api_refuses_the_list_and_hides_entries_from_others(who, personas, api_as, entry):
    client = api_as(personas[who])
    assert client.get(API).status_code == 403
    assert client.get(f"{API}{entry.pk}/").status_code == 404


def test_the_api_needs_authentication(api, entry):
    assert api.get(API).status_code in (401, 403)
    assert api.get(f"{API}{entry.pk}/").status_code in (401, 403)


def test_the_schema_documents_the_audit_routes(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    paths = schema["paths"]
    assert set(paths[API]) == {"get"}
    assert set(paths[API + "{id}/"]) == {"get"}
    names = {p["name"] for p in paths[API]["get"]["parameters"]}
    assert {"kind", "actor", "object_type", "created_after", "created_before"} <= names
