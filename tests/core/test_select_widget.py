"""The ``widget`` filter writes ``<select>`` elements in Python (cbportal.core.templatetags
.portal.select): the HTML must be Django's own, whatever the field."""

from __future__ import annotations

import pytest
from django import forms
from django.test.html import parse_html

from cbportal.accounts.models import Country
from cbportal.core.templatetags.portal import widget


class Everything(forms.Form):
    plain = forms.ChoiceField(choices=[("", "—"), ("a", "A & B"), ("b", "<b>")])
    grouped = forms.ChoiceField(
        choices=[("Africa", [("tn", "Tunisia"), ("sn", "Senegal")]), ("x", "Elsewhere")],
        required=False,
        help_text="Where it happens.",
    )
    many = forms.MultipleChoiceField(choices=[("fr", "French"), ("es", "Spanish")])
    country = forms.ModelChoiceField(queryset=Country.objects.order_by("code"), required=False)
    flag = forms.NullBooleanField(widget=forms.NullBooleanSelect)
    disabled = forms.ChoiceField(choices=[("a", "A")], disabled=True, required=False)
    custom = forms.ChoiceField(
        choices=[("a", "A")], widget=forms.Select(attrs={"id": "own-id", "class": "narrow"})
    )


def django_rendering(field: forms.BoundField) -> str:
    """What the filter wrote before: Django's templates, with the filter's attributes."""
    from cbportal.core.templatetags import portal

    ours = portal.select
    portal.select = lambda field, attrs: field.as_widget(attrs=attrs)  # type: ignore[assignment]
    try:
        return str(widget(field))
    finally:
        portal.select = ours


@pytest.mark.parametrize(
    "data",
    [
        None,
        {"plain": "a", "grouped": "sn", "many": ["fr", "es"], "country": "TN", "flag": "true"},
        {"plain": "nope", "many": ["de"], "country": "ZZ", "custom": "a"},
    ],
    ids=["unbound", "valid", "with errors"],
)
def test_it_writes_the_html_django_would(db, data):
    form = Everything(data)
    if data is not None:
        form.is_valid()
    for name in form.fields:
        field = form[name]
        ours = str(widget(field))
        assert parse_html(ours) == parse_html(django_rendering(field)), name
        assert ours.startswith("<select")


def test_it_escapes_labels_and_marks_the_choice(db):
    html = str(widget(Everything({"plain": "b"})["plain"]))

    assert '<option value="a">A &amp; B</option>' in html
    assert '<option value="b" selected>&lt;b&gt;</option>' in html
