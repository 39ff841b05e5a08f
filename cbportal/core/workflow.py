"""The one transition mechanism every state machine of CB Portal uses.

A model's machine is a table you can read::

    REQUEST_WORKFLOW = Workflow(
        model="requests_app.AssistanceRequest",
        states=RequestStatus,
        transitions=[
            Transition("submit", ["draft"], "submitted", roles=["partner"]),
            Transition("decline", ["under_review"], "declined", roles=["staff"],
                       requires_comment=True),
            ...
        ],
    )

``check(obj, name, user)`` raises ``TransitionForbidden`` (403) when none of the user's roles
may fire the transition, ``TransitionNotAllowed`` (409) when the object's state does not allow
it or a guard refuses. ``allowed(obj, user)`` lists what the user may fire now; API
representations and page buttons are both built from it. Services call ``check`` under a row
lock, change the state, then ``record_transition`` (cbportal.core.services).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.db import models
from django.utils.translation import gettext as _

from cbportal.core.errors import TransitionForbidden, TransitionNotAllowed, UnknownTransition

# A guard returns None when the transition may go ahead, or the reason it may not.
Guard = Callable[[Any, Any], "str | None"]


class HasRoles(Protocol):
    @property
    def workflow_roles(self) -> frozenset[str]: ...


@dataclass(frozen=True)
class Transition:
    name: str
    sources: Sequence[str]
    target: str
    roles: Sequence[str]
    label: Any = None
    guards: Sequence[Guard] = field(default_factory=tuple)
    requires_comment: bool = False
    # When the target depends on the object (``resume`` goes back to the state before the
    # suspension), this returns it; ``target`` is then what the docs show.
    dynamic_target: Callable[[Any], str] | None = None

    def target_for(self, obj: Any) -> str:
        return self.dynamic_target(obj) if self.dynamic_target is not None else self.target

    @property
    def display_label(self) -> str:
        label = str(self.label) if self.label is not None else self.name.replace("-", " ")
        return label[:1].upper() + label[1:]


class Workflow:
    def __init__(
        self,
        *,
        model: str,
        states: type[models.TextChoices],
        transitions: Iterable[Transition],
        state_field: str = "status",
        audit_kind: str = "transition",
    ) -> None:
        self.model = model
        self.states = states
        self.state_field = state_field
        # How the audit log files this machine's transitions (an ``AuditKind`` value):
        # vetting decisions are filtered apart from other transitions.
        self.audit_kind = audit_kind
        self.transitions: dict[str, Transition] = {}
        valid = set(states.values)
        for t in transitions:
            if t.name in self.transitions:
                raise ValueError(f"{model}: transition {t.name!r} defined twice")
            unknown = ({*t.sources, t.target}) - valid
            if unknown:
                raise ValueError(f"{model}: transition {t.name!r} uses unknown states {unknown}")
            self.transitions[t.name] = t

    def get(self, name: str) -> Transition:
        try:
            return self.transitions[name]
        except KeyError:
            raise UnknownTransition(_("Unknown transition “%(name)s”.") % {"name": name}) from None

    def state_of(self, obj: Any) -> str:
        return str(getattr(obj, self.state_field))

    def state_label(self, state: str) -> str:
        try:
            return str(self.states(state).label)
        except ValueError:
            return state

    def check(self, obj: Any, name: str, user: HasRoles, *, deep: bool = True) -> Transition:
        """Raise unless ``user`` may fire transition ``name`` on ``obj`` now. ``deep=False``
        skips guards marked ``deep`` (costly checks, such as a whole plan's completeness):
        lists use it for ``allowed_transitions``; firing always checks everything."""
        transition = self.get(name)
        refusal = self._refusal(obj, transition, user, deep=deep)
        if refusal is None:
            return transition
        noun = _object_noun(obj)
        if refusal is _ROLE:
            raise TransitionForbidden(
                _("Your role does not allow “%(action)s” on this %(object)s.")
                % {"action": transition.display_label, "object": noun}
            )
        if refusal is _STATE:
            raise TransitionNotAllowed(
                _("“%(action)s” is not possible: this %(object)s is %(state)s.")
                % {
                    "action": transition.display_label,
                    "object": noun,
                    "state": self.state_label(self.state_of(obj)).lower(),
                }
            )
        raise TransitionNotAllowed(str(refusal))

    def can(self, obj: Any, name: str, user: HasRoles, *, deep: bool = True) -> bool:
        """``check`` without its messages: lists ask it of every transition of every row,
        and building (translating) refusals nobody reads was most of a list's time."""
        transition = self.transitions.get(name)
        return transition is not None and self._refusal(obj, transition, user, deep=deep) is None

    def _refusal(self, obj: Any, transition: Transition, user: HasRoles, *, deep: bool) -> Any:
        """Why ``user`` may not fire ``transition`` on ``obj`` now: ``_ROLE``, ``_STATE``, a
        guard's reason, or None when they may."""
        if not set(transition.roles) & set(user.workflow_roles):
            return _ROLE
        if self.state_of(obj) not in transition.sources:
            return _STATE
        for guard in transition.guards:
            if not deep and getattr(guard, "deep", False):
                continue
            reason = guard(obj, user)
            if reason:
                return reason
        return None

    def allowed(self, obj: Any, user: HasRoles, *, deep: bool = True) -> list[str]:
        """Names of the transitions ``user`` may fire on ``obj`` now, in table order."""
        return [name for name in self.transitions if self.can(obj, name, user, deep=deep)]

    def table(self) -> list[dict[str, Any]]:
        """Rows for docs/workflow.md: transition, from, to, roles, guards."""
        return [
            {
                "transition": t.name,
                "from": list(t.sources),
                "to": t.target
                if t.dynamic_target is None
                else f"{t.target} (or the state it came from)",
                "roles": list(t.roles),
                "guards": [
                    g.__doc__.strip().splitlines()[0] if g.__doc__ else g.__name__ for g in t.guards
                ],
                "requires_comment": t.requires_comment,
            }
            for t in self.transitions.values()
        ]


# The refusals ``Workflow._refusal`` names before any guard runs.
_ROLE = object()
_STATE = object()


def deep(guard: Guard) -> Guard:
    """Mark a guard as costly: skipped when lists compute ``allowed_transitions``."""
    guard.deep = True  # type: ignore[attr-defined]
    return guard


def _object_noun(obj: Any) -> str:
    meta = getattr(obj, "_meta", None)
    return str(meta.verbose_name) if meta is not None else _("item")


REGISTRY: dict[str, Workflow] = {}


def register(workflow: Workflow) -> Workflow:
    """Make a machine known to the docs generator and the consistency tests."""
    REGISTRY[workflow.model] = workflow
    return workflow
