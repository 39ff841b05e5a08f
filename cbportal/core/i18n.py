"""Helpers for reference data stored with English, French and Spanish names."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from typing import Any

from django.forms.models import ModelChoiceIterator
from django.utils import translation


def localized(obj: object, field: str = "name") -> str:
    """The ``<field>_<lang>`` value for the active language, falling back to English."""
    lang = (translation.get_language() or "en").split("-")[0]
    if lang != "en":
        value = getattr(obj, f"{field}_{lang}", "")
        if value:
            return str(value)
    return str(getattr(obj, field))


def collation_key(text: str) -> str:
    """Sort key for names in any of the portal's languages: accents and case ignored, so
    that "Égypte" sorts with the E's, as a French reader looks for it."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


class AlphabeticalChoiceIterator(ModelChoiceIterator):
    """Options in the alphabetical order of their labels in the reader's language (the
    tables are ordered by their English names)."""

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        # The blank option first and before any query, as Django's iterator does: the
        # widget peeks at the first choice to decide on the ``required`` attribute.
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        queryset: Any = self.queryset
        if not queryset._prefetch_related_lookups:
            queryset = queryset.iterator()
        choices = [self.choice(obj) for obj in queryset]
        yield from sorted(choices, key=lambda choice: collation_key(str(choice[1])))


def share_choices(form: Any, *names: str) -> None:
    """Have the model choice fields ``names`` of ``form``, which list the same objects with
    the same blank label (the country of experience and the nationality of a search, say),
    show the first one's options, read once — when first rendered, not before — instead of
    one query each. Validation still checks each value against each field's queryset."""
    first = form.fields[names[0]]
    options: list[tuple[Any, Any]] = []

    def read() -> list[tuple[Any, Any]]:
        if not options:
            # iter(): list.extend would ask the iterator its length, a COUNT query.
            options.extend(iter(first.iterator(first)))
        return options

    for name in names:
        form.fields[name].choices = read
