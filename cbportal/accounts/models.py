"""Users, their roles, partner organisations and countries."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cbportal.core.i18n import localized


class Region(models.TextChoices):
    """UN M49 regions."""

    AFRICA = "Africa", _("Africa")
    AMERICAS = "Americas", _("Americas")
    ASIA = "Asia", _("Asia")
    EUROPE = "Europe", _("Europe")
    OCEANIA = "Oceania", _("Oceania")
    ANTARCTICA = "Antarctica", _("Antarctica")


class Country(models.Model):
    """An ISO 3166-1 country with its UN M49 region and sub-region (loaded by migration)."""

    code = models.CharField(_("ISO code"), max_length=2, primary_key=True)
    iso3 = models.CharField(max_length=3, unique=True)
    numeric = models.CharField(max_length=3)
    name = models.CharField(_("name"), max_length=100)
    name_fr = models.CharField(max_length=100, blank=True)
    name_es = models.CharField(max_length=100, blank=True)
    region = models.CharField(_("region"), max_length=20, choices=Region.choices, db_index=True)
    subregion = models.CharField(_("sub-region"), max_length=60, db_index=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("country")
        verbose_name_plural = _("countries")

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return localized(self)


class OrganisationKind(models.TextChoices):
    NATIONAL_AUTHORITY = "national_authority", _("National authority")
    REGIONAL_ORGANISATION = "regional_organisation", _("Regional organisation")
    EU_MEMBER_STATE_INSTITUTION = "eu_member_state_institution", _("EU member-state institution")
    INTERNATIONAL_ORGANISATION = "international_organisation", _("International organisation")
    ACADEMIA_CIVIL_SOCIETY = "academia_civil_society", _("Academia / civil society")


class Organisation(models.Model):
    name = models.CharField(_("name"), max_length=200)
    acronym = models.CharField(_("acronym"), max_length=30, blank=True)
    kind = models.CharField(_("kind"), max_length=40, choices=OrganisationKind.choices)
    country = models.ForeignKey(
        Country, verbose_name=_("country"), on_delete=models.PROTECT, related_name="organisations"
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        constraints = [
            models.UniqueConstraint(
                Lower("name"), "country", name="organisation_unique_name_per_country"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.acronym})" if self.acronym else self.name


class Role(models.TextChoices):
    PARTNER = "partner", _("Partner focal point")
    STAFF = "staff", _("Programme staff")
    EXPERT = "expert", _("Expert")
    EVALUATOR = "evaluator", _("Evaluator")


class PortalUserManager(UserManager["User"]):
    def create_superuser(  # type: ignore[override]
        self, username: str, email: str | None = None, password: str | None = None, **extra: Any
    ) -> User:
        # An administrator is programme staff (the default role, partner, needs an organisation).
        extra.setdefault("role", Role.STAFF)
        return super().create_superuser(username, email, password, **extra)


class User(AbstractUser):
    """A CB Portal user. ``role`` decides what they may do; approvers are staff with a flag."""

    email = models.EmailField(_("email address"), blank=True)
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.PARTNER)
    is_approver = models.BooleanField(
        _("approver"),
        default=False,
        help_text=_("May approve actions and amendments drafted by someone else."),
    )
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="members",
    )
    language = models.CharField(
        _("language"), max_length=8, choices=settings.LANGUAGES, default="en"
    )
    lead = models.ForeignKey(
        "self",
        verbose_name=_("team lead"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="team",
        limit_choices_to={"role": "staff"},
        help_text=_("Reminders about this person's overdue cases also go to their team lead."),
    )

    objects: ClassVar[PortalUserManager] = PortalUserManager()  # type: ignore[assignment]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.CheckConstraint(
                condition=~Q(role="partner") | Q(organisation__isnull=False),
                name="user_partner_has_organisation",
                violation_error_message=_("A partner focal point must belong to an organisation."),
            ),
            models.CheckConstraint(
                condition=Q(is_approver=False) | Q(role="staff"),
                name="user_approver_is_staff",
                violation_error_message=_("Only programme staff can be approvers."),
            ),
            models.UniqueConstraint(
                Lower("email"), condition=~Q(email=""), name="user_unique_email"
            ),
            models.CheckConstraint(
                condition=Q(lead__isnull=True) | Q(role="staff"),
                name="user_lead_only_for_staff",
                violation_error_message=_("Only programme staff have a team lead."),
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username

    @property
    def workflow_roles(self) -> frozenset[str]:
        """Roles as the transition tables name them (``approver`` is a flag on staff)."""
        roles = {self.role}
        if self.is_approver and self.role == Role.STAFF:
            roles.add("approver")
        return frozenset(roles)

    @property
    def is_partner(self) -> bool:
        return self.role == Role.PARTNER

    @property
    def is_programme_staff(self) -> bool:
        return self.role == Role.STAFF

    @property
    def is_expert(self) -> bool:
        return self.role == Role.EXPERT

    @property
    def is_evaluator(self) -> bool:
        return self.role == Role.EVALUATOR


class Invitation(models.Model):
    """Staff invite a partner focal point, expert or evaluator by email.

    The invited account exists from the start with an unusable password, so the invitation
    email goes through the same notification outbox as every other message. The link is a
    signed, expiring token over ``(id, nonce)``: resending rotates the nonce and so voids
    earlier links; accepting sets ``accepted_at`` and voids the link too.
    """

    user = models.OneToOneField(
        User, on_delete=models.CASCADE, related_name="invitation", verbose_name=_("user")
    )
    invited_by = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", verbose_name=_("invited by")
    )
    nonce = models.CharField(max_length=32)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")

    def __str__(self) -> str:
        return f"Invitation for {self.user.email}"

    @property
    def is_expired(self) -> bool:
        return self.accepted_at is None and timezone.now() >= self.expires_at
