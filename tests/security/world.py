"""The world the access matrices run against: two symmetric sides, A and B.

Side A belongs to ``partner``'s organisation; its missions are ``expert``'s and its actions
are assigned to ``evaluator``. Side B mirrors it for ``partner2``, ``expert2`` and
``evaluator2``. Programme staff, the approver and the administrator see both sides. So
for every role a side is either *its own* or *someone else's*: ``OWN_SIDE`` says which,
and the matrices check each endpoint on both sides' objects.

Everything is built through the real services (the builders the app tests use), once per
test module, inside a transaction rolled back at the end (``world`` fixture in
``conftest.py``). Notifications are delivered (on-commit callbacks run), so every user
owns notification rows too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.contrib.auth.tokens import default_token_generator
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from cbportal.core.models import Notification
from evaluations.models import FeedbackLink, Recommendation
from tests.factories import OrganisationFactory, UserFactory
from tests.requests_app.helpers import PDF_BYTES

SIDES = ("A", "B")

# Every role the matrices check, in the order their tables print.
ROLES = (
    "anonymous",
    "partner",
    "partner2",
    "staff",
    "approver",
    "expert",
    "expert2",
    "evaluator",
    "evaluator2",
    "admin",
)

# The side each side-bound role calls its own; staff, approver and admin see both sides
# as their own, the anonymous visitor neither.
OWN_SIDE = {
    "partner": "A",
    "partner2": "B",
    "expert": "A",
    "expert2": "B",
    "evaluator": "A",
    "evaluator2": "B",
}


@dataclass
class Side:
    """One partner organisation's cases, one object of each kind (ids and tokens too)."""

    name: str
    organisation: Any
    partner: Any
    expert_user: Any
    evaluator: Any
    # requests and assessments
    draft_request: Any = None  # draft, with an official letter attached
    attachment: Any = None  # of draft_request
    submitted_request: Any = None  # submitted, awaiting triage
    open_assessment: Any = None  # in progress, one gap
    gap: Any = None  # of open_assessment
    # actions
    design_action: Any = None  # in design, with a complete plan
    action: Any = None  # in implementation, evaluator assigned, monitored
    activity: Any = None  # of action
    need: Any = None  # of action
    amendment: Any = None  # draft amendment of action
    closed_action: Any = None  # closed, evaluation submitted, published by the partner
    recommendation: Any = None  # of closed_action's evaluation
    # experts and deployments
    expert: Any = None  # expert_user's roster profile, with a CV and an unavailability
    unavailability: Any = None
    pending_expert: Any = None  # a roster entry awaiting vetting (no account)
    mission: Any = None  # expert's deployment on action's need, report filed
    report_attachment: Any = None  # of mission's report
    invitation: Any = None  # expert's open invitation on invite_action's need
    invitation_token: str = ""  # the signed link in the invitation email
    match_job: Any = None  # on need
    # monitoring and evaluation
    indicator: Any = None
    measurement: Any = None  # with an evidence file
    outcome: Any = None  # with an evidence file
    evaluation: Any = None  # closed_action's, submitted
    draft_evaluation: Any = None  # action's, draft
    feedback_link: Any = None  # unused link on activity
    feedback: Any = None  # partner feedback on activity
    # accounts
    account_invitation: Any = None  # staff's invitation of a new partner focal point
    account_invitation_token: str = ""
    notification: Any = None  # one of partner's notifications
    extra: dict[str, Any] = field(default_factory=dict)
    # api matrix
    proposed_action: Any = None  # proposed by staff, awaiting an approver

    @property
    def password_reset(self) -> tuple[str, str]:
        """``(uidb64, token)`` of a valid password-reset link for this side's partner."""
        user = self.partner
        return urlsafe_base64_encode(force_bytes(user.pk)), default_token_generator.make_token(user)


@dataclass
class World:
    users: dict[str, Any]  # role → user (None for anonymous)
    sides: dict[str, Side]

    def side_of(self, role: str) -> str | None:
        """The side ``role`` owns (None for the anonymous visitor and for roles that see
        everything)."""
        return OWN_SIDE.get(role)

    def other(self, side: str) -> str:
        return "B" if side == "A" else "A"

    def notification_of(self, role: str) -> Any:
        """One notification addressed to ``role`` (every signed-in role has some)."""
        return Notification.objects.filter(recipient=self.users[role]).order_by("pk").first()


def _pdf(name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF_BYTES, content_type="application/pdf")


def _build_side(
    name: str, organisation: Any, partner: Any, expert_user: Any, evaluator: Any, common: Any
) -> Side:
    from actions import services as action_services
    from cbportal.accounts import services as account_services
    from evaluations import services as evaluation_services
    from experts import services as expert_services
    from experts.models import Deployment
    from tests.actions.builders import advance, make_action, make_amendment
    from tests.evaluations.builders import (
        complete_evaluation,
        make_indicator,
        running_action,
        submitted_evaluation,
    )
    from tests.experts.builders import deployment_in, first_need, make_expert
    from tests.requests_app.helpers import add_attachment, make_draft, make_request
    from tests.requests_app.helpers import make_assessment as make_open_assessment

    staff, approver = common["staff"], common["approver"]
    side = Side(name, organisation, partner, expert_user, evaluator)

    # Requests and assessments.
    side.draft_request = make_draft(partner, title=f"Draft request {name}")
    side.attachment = add_attachment(side.draft_request, partner, name=f"letter-{name}.pdf")
    side.submitted_request = make_request("submitted", partner, title=f"Submitted {name}")
    side.open_assessment = make_open_assessment(partner, staff, gaps=1, title=f"Assessed {name}")
    side.gap = side.open_assessment.gaps.order_by("pk").first()

    # The expert's profile first: a mission needs it.
    side.expert = make_expert(expert_user, by=staff, name=f"Expert {name}")
    side.expert = expert_services.expert_cv_upload(
        expert_id=side.expert.pk, by=expert_user, upload=_pdf(f"cv-{name}.pdf")
    )
    today = timezone.localdate()
    side.unavailability, _merged = expert_services.unavailability_add(
        expert_id=side.expert.pk,
        by=expert_user,
        start_date=today + timedelta(days=300),
        end_date=today + timedelta(days=305),
        note="Annual leave",
    )
    side.pending_expert = make_expert(False, by=staff, name=f"Pending {name}", vetted=False)

    # Actions: one in design, one running (monitored, evaluated in draft), one closed.
    side.design_action = make_action(partner, staff, title=f"Designed {name}")
    side.action = running_action(partner, staff, approver, evaluator=evaluator)
    side.activity = side.action.activities.order_by("pk").first()
    side.need = first_need(side.action)
    side.amendment = make_amendment(side.action, staff=staff, approver=approver, partner=partner)

    side.mission = deployment_in("reported", side.need, side.expert, staff=staff)
    report = side.mission.report
    side.report_attachment = report.attachments.order_by("pk").first() if report else None
    if side.report_attachment is None:
        expert_services.deployment_report_submit(
            deployment_id=side.mission.pk,
            by=expert_user,
            summary="Trained 15 analysts.",
            outputs="Training materials.",
            recommendations="Repeat in a year.",
            days_worked=1,
            attachments=[_pdf(f"report-{name}.pdf")],
        )
        side.mission = Deployment.objects.get(pk=side.mission.pk)
        side.report_attachment = side.mission.report.attachments.order_by("pk").first()

    invite_action = advance(
        make_action(partner, staff, title=f"Inviting {name}"),
        "approved",
        staff=staff,
        approver=approver,
        partner=partner,
    )
    side.invitation = deployment_in("invited", first_need(invite_action), side.expert, staff=staff)
    side.invitation_token = expert_services.invitation_token(side.invitation)
    side.match_job = expert_services.match_queue(need_id=side.need.pk, by=staff)

    side.indicator = make_indicator(side.action, staff)
    side.measurement = evaluation_services.measurement_record(
        indicator_id=side.indicator.pk,
        by=evaluator,
        data={
            "date": today - timedelta(days=1),
            "value": "30",
            "note": "Inspection",
            "evidence_file": _pdf(f"measurement-{name}.pdf"),
        },
    )
    side.outcome = evaluation_services.outcome_record(
        action_id=side.action.pk,
        by=evaluator,
        data={
            "level": "organisational",
            "description": "The SOP is in use.",
            "evidence": "Inspection report",
            "date": today - timedelta(days=1),
            "evidence_file": _pdf(f"outcome-{name}.pdf"),
        },
    )
    side.draft_evaluation = complete_evaluation(side.action, evaluator)
    links = evaluation_services.feedback_links_create(
        activity_id=side.activity.pk, by=staff, count=2
    )
    side.feedback_link = links[0]
    side.feedback = evaluation_services.feedback_submit(
        activity_id=side.activity.pk, by=partner, data={"satisfaction": 4, "comments": "Useful."}
    )

    side.closed_action = running_action(partner, staff, approver, evaluator=evaluator)
    side.evaluation = submitted_evaluation(
        side.closed_action, evaluator, staff=staff, approver=approver, partner=partner
    )
    action_services.action_transition(
        action_id=side.closed_action.pk, name="close", by=staff, text=""
    )
    if name == "A":  # A's partner agrees to publish; B's does not.
        action_services.action_update(
            action_id=side.closed_action.pk, by=partner, data={"publish": True}
        )
    side.closed_action.refresh_from_db()
    side.recommendation = Recommendation.objects.filter(evaluation=side.evaluation).first()

    side.account_invitation = account_services.invitation_create(
        by=staff,
        email=f"new-focal-point-{name.lower()}@example.org",
        role="partner",
        organisation=organisation,
    )
    side.account_invitation_token = account_services.invitation_token(side.account_invitation)

    # api matrix
    side.proposed_action = advance(
        make_action(partner, staff, title=f"Proposed {name}"),
        "proposed",
        staff=staff,
        approver=approver,
        partner=partner,
    )
    return side


def build_world() -> World:
    """Both sides and the people who see them. Call inside a transaction (the fixture
    rolls it back) with on-commit callbacks executed."""
    from tests.factories import UserFactory as Users

    org_a = OrganisationFactory(name="Directorate of Migration", acronym="DM")
    org_b = OrganisationFactory(name="National Migration Agency", acronym="NMA")
    users: dict[str, Any] = {
        "anonymous": None,
        "partner": Users(username="partner", partner=True, organisation=org_a),
        "partner2": Users(username="partner2", partner=True, organisation=org_b),
        "staff": Users(username="staff"),
        "approver": Users(username="approver", approver=True),
        "expert": Users(username="expert", expert=True),
        "expert2": Users(username="expert2", expert=True),
        "evaluator": Users(username="evaluator", evaluator=True),
        "evaluator2": Users(username="evaluator2", evaluator=True),
        "admin": UserFactory(username="admin", is_superuser=True, is_staff=True),
    }
    sides = {
        "A": _build_side("A", org_a, users["partner"], users["expert"], users["evaluator"], users),
        "B": _build_side(
            "B", org_b, users["partner2"], users["expert2"], users["evaluator2"], users
        ),
    }
    for side in sides.values():
        side.notification = (
            Notification.objects.filter(recipient=side.partner).order_by("pk").first()
        )
    assert FeedbackLink.objects.filter(used_at__isnull=True).exists()
    return World(users=users, sides=sides)
