"""Template helpers shared by every page."""

from __future__ import annotations

from typing import Any

from django import forms, template
from django.forms.utils import flatatt
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.filter
def widget(field: forms.BoundField) -> SafeString:
    """Render a field's widget with Bootstrap's class and its help text and errors tied to
    it through ``aria-describedby`` (screen readers announce both)."""
    w = field.field.widget
    if isinstance(w, forms.CheckboxInput | forms.RadioSelect | forms.CheckboxSelectMultiple):
        css = "form-check-input"
    elif isinstance(w, forms.Select):
        css = "form-select"
    else:
        css = "form-control"
    attrs: dict[str, Any] = {"class": f"{w.attrs.get('class', '')} {css}".strip()}
    described = []
    if field.help_text:
        described.append(f"{field.auto_id}_helptext")
    if field.errors:
        described.append(f"{field.auto_id}_error")
        attrs["class"] += " is-invalid"
        attrs["aria-invalid"] = "true"
    if described:
        attrs["aria-describedby"] = " ".join(described)
    if isinstance(w, forms.Select):
        return select(field, attrs)
    return field.as_widget(attrs=attrs)


def select(field: forms.BoundField, attrs: dict[str, Any]) -> SafeString:
    """``field.as_widget(attrs=attrs)`` for a ``<select>``, the same HTML written in Python:
    Django renders every option through a template of its own, and a country list (250
    options, in filters on most list pages) took a third of the triage queue's time."""
    widget = field.field.widget
    attrs = field.build_widget_attrs(attrs, widget)
    if field.auto_id and "id" not in widget.attrs:
        attrs.setdefault("id", field.auto_id)
    context = widget.get_context(field.html_name, field.value(), attrs)["widget"]
    parts: list[str] = [
        format_html('<select name="{}"{}>', context["name"], flatatt(context["attrs"]))
    ]
    for group, options, _index in context["optgroups"]:
        if group:
            parts.append(format_html('<optgroup label="{}">', group))
        parts.extend(
            format_html(
                '<option value="{}"{}>{}</option>',
                option["value"],
                flatatt(option["attrs"]),
                option["label"],
            )
            for option in options
        )
        if group:
            parts.append("</optgroup>")
    parts.append("</select>")
    return mark_safe("".join(parts))  # noqa: S308 - every part above is escaped


@register.filter
def is_choice_list(field: forms.BoundField) -> bool:
    """Checkbox lists and radio buttons are rendered as a fieldset of options."""
    return isinstance(field.field.widget, forms.CheckboxSelectMultiple | forms.RadioSelect)


@register.filter
def is_checkbox(field: forms.BoundField) -> bool:
    return isinstance(field.field.widget, forms.CheckboxInput)


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    """``mapping|get_item:key`` — a dictionary lookup with a variable key."""
    if not mapping:
        return None
    return mapping.get(key)


@register.filter
def attr_errors(form: Any) -> bool:
    """Whether a (possibly missing) form has errors."""
    return bool(form is not None and getattr(form, "errors", None))
