"""Every notification event, its category and how its email is rendered.

An event ``name`` has templates ``templates/emails/<name>/subject.txt``, ``body.txt`` and
``body.html``. ``context`` (optional) builds extra template context at *delivery* time —
used for values that must not be stored in the outbox, such as a freshly signed link.
Apps add their events with ``register_event`` in their ``notifications`` module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cbportal.core.models import NotificationCategory

ContextBuilder = Callable[[Any], dict[str, Any]]


@dataclass(frozen=True)
class Event:
    name: str
    category: str
    context: ContextBuilder | None = None


EVENTS: dict[str, Event] = {}


def register_event(name: str, category: str, context: ContextBuilder | None = None) -> Event:
    if category not in NotificationCategory.values:
        raise ValueError(f"Unknown notification category {category!r}")
    event = Event(name=name, category=category, context=context)
    EVENTS[name] = event
    return event


def get_event(name: str) -> Event:
    try:
        return EVENTS[name]
    except KeyError:
        raise LookupError(f"Notification event {name!r} is not registered") from None
