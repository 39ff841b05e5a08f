"""Create (or refresh) the demo accounts and organisations; safe to run again and again."""

from __future__ import annotations

from io import StringIO
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction

from cbportal.accounts.models import Country, Organisation, OrganisationKind, Role, User
from cbportal.core import audit, services
from cbportal.core.models import DeliveryMode

DEMO_PASSWORD = "cbportal-demo"  # noqa: S105 - demo data only, printed on purpose

ORGANISATIONS: dict[str, dict[str, Any]] = {
    "partner": {
        "name": "Directorate-General for Migration and Border Management",
        "acronym": "DGMBM",
        "kind": OrganisationKind.NATIONAL_AUTHORITY,
        "country": "TN",
    },
    "partner2": {
        "name": "National Migration Agency",
        "acronym": "NMA",
        "kind": OrganisationKind.NATIONAL_AUTHORITY,
        "country": "SN",
    },
}

ACCOUNTS: list[dict[str, Any]] = [
    {
        "username": "partner",
        "first_name": "Amira",
        "last_name": "Ben Salah",
        "role": Role.PARTNER,
        "organisation": "partner",
        "language": "fr",
    },
    {
        "username": "partner2",
        "first_name": "Moussa",
        "last_name": "Diop",
        "role": Role.PARTNER,
        "organisation": "partner2",
        "language": "fr",
    },
    {"username": "staff", "first_name": "Clara", "last_name": "Weber", "role": Role.STAFF},
    {
        "username": "approver",
        "first_name": "Javier",
        "last_name": "Morales",
        "role": Role.STAFF,
        "is_approver": True,
    },
    {"username": "expert", "first_name": "Ana", "last_name": "Pereira", "role": Role.EXPERT},
    {"username": "evaluator", "first_name": "Kwame", "last_name": "Mensah", "role": Role.EVALUATOR},
    {
        "username": "admin",
        "first_name": "Portal",
        "last_name": "Administrator",
        "role": Role.STAFF,
        "is_superuser": True,
        "is_staff": True,
    },
]


class Command(BaseCommand):
    help = "Create or refresh the demo data and print the demo accounts (demo use only)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--quiet", action="store_true", help="Do not print the accounts.")

    def handle(self, *args: Any, **options: Any) -> None:
        from django.test.utils import override_settings

        # The demo cases go through the real services, notifications included; their
        # emails (sent when the transaction commits) are not worth printing.
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"):
            cases, experts = self._seed()
            # Today's reminders (overdue requests, expiring invitations, reports and
            # measurements due), as beat would send them: each role sees real ones.
            call_command("remind", stdout=StringIO())
        # Printed after the commit: a closed output pipe must not roll the demo back.
        if not options["quiet"]:
            if cases:
                self.stdout.write(f"Created {cases} demo requests and actions in every state.")
            if experts:
                self.stdout.write(
                    f"Created {experts} roster experts and deployments in every state."
                )
            self.stdout.write(
                self.style.SUCCESS(f"Demo accounts (password for all: {DEMO_PASSWORD})")
            )
            for spec in ACCOUNTS:
                org = ORGANISATIONS.get(spec.get("organisation", ""), {}).get("acronym", "")
                role = "approver" if spec.get("is_approver") else spec["role"]
                if spec.get("is_superuser"):
                    role = "admin"
                self.stdout.write(f"  {spec['username']:<10} {role:<10} {org}")

    @transaction.atomic
    def _seed(self) -> tuple[int, int]:
        # The demo moves its timelines into the past (requests_app/demo.py and
        # evaluations/demo.py rewrite transition times), which PostgreSQL's history trigger
        # refuses unless this transaction asks.
        audit.allow_demo_history()
        organisations = {}
        for key, spec in ORGANISATIONS.items():
            country = Country.objects.get(code=spec["country"])
            organisations[key], _ = Organisation.objects.update_or_create(
                name=spec["name"],
                country=country,
                defaults={"acronym": spec["acronym"], "kind": spec["kind"], "is_active": True},
            )
        for spec in ACCOUNTS:
            fields: dict[str, Any] = {k: v for k, v in spec.items() if k != "username"}
            if "organisation" in fields:
                fields["organisation"] = organisations[fields["organisation"]]
            fields.setdefault("organisation", None)
            fields.setdefault("is_approver", False)
            fields.setdefault("is_superuser", False)
            fields.setdefault("is_staff", False)
            fields.setdefault("language", "en")
            fields["email"] = f"{spec['username']}@demo.cbportal.localhost"
            fields["is_active"] = True
            user, _ = User.objects.update_or_create(username=spec["username"], defaults=fields)
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        self._notification_settings(organisations)

        from actions import demo as actions_demo
        from evaluations import demo as evaluations_demo
        from experts import demo as experts_demo
        from requests_app import demo as requests_demo

        cases = requests_demo.seed(organisations) + actions_demo.seed()
        # The roster staffs the demo actions' expertise needs: it comes after them.
        experts = experts_demo.seed()
        # Monitoring and evaluation follow the actions and their missions.
        evaluations_demo.seed()
        return cases, experts

    def _notification_settings(self, organisations: dict[str, Organisation]) -> None:
        """The approver leads the staff team (SLA reminders reach both); the evaluator takes
        reminders in a daily digest; the second partner organisation defaults to digests."""
        User.objects.filter(username="staff").update(lead=User.objects.get(username="approver"))
        evaluator = User.objects.get(username="evaluator")
        services.notification_preferences_set(
            user=evaluator, modes={"reminders": DeliveryMode.DIGEST}
        )
        services.organisation_notification_defaults_set(
            organisation=organisations["partner2"],
            modes={"requests": DeliveryMode.DIGEST, "actions": DeliveryMode.DIGEST},
            by=User.objects.get(username="admin"),
        )
