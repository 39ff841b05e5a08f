"""Pages of the public portfolio (no login): the actions partners agreed to publish, and one
page per action. Thin: the facts come from evaluations/public.py."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_safe

from actions.models import ActionStatus, ActivityType
from cbportal.accounts.models import Region
from cbportal.core.errors import NotFound
from cbportal.core.pagination import EstimatingPaginator
from evaluations import public
from requests_app.forms import CountryChoice

PAGE_SIZE = 20


class SearchInput(forms.TextInput):
    input_type = "search"


class PortfolioCountryChoice(CountryChoice):
    def to_python(self, value: Any) -> Any:
        # ISO codes are stored in capitals; ``?country=sn`` means Senegal too.
        return super().to_python(value.upper() if isinstance(value, str) else value)


class GcmObjectiveChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.number}. {obj.display_title}"


class ThematicAreaChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.display_name)


class PortfolioFilterForm(forms.Form):
    """The portfolio's filters, sent by GET (they work without JavaScript and can be
    bookmarked); the JSON endpoint takes the same names."""

    search = forms.CharField(
        label=_("Search titles and summaries"),
        required=False,
        max_length=200,
        widget=SearchInput(attrs={"autocomplete": "off"}),
    )
    country = PortfolioCountryChoice(
        label=_("Country"),
        queryset=public.portfolio_countries(),
        to_field_name="code",
        required=False,
        empty_label=_("Any"),
    )
    region = forms.ChoiceField(label=_("Region"), required=False)
    thematic_area = ThematicAreaChoice(
        label=_("Thematic area"),
        queryset=public.portfolio_thematic_areas(),
        to_field_name="slug",
        required=False,
        empty_label=_("Any"),
    )
    gcm_objective = GcmObjectiveChoice(
        label=_("GCM objective"),
        queryset=public.portfolio_gcm_objectives(),
        required=False,
        empty_label=_("Any"),
    )
    activity_type = forms.ChoiceField(label=_("Activity type"), required=False)
    status = forms.ChoiceField(label=_("Status"), required=False)
    year = forms.TypedChoiceField(label=_("Running in"), required=False, coerce=int)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        any_ = ("", _("Any"))
        statuses = dict(ActionStatus.choices)
        choices: dict[str, list[Any]] = {
            "region": [any_, *Region.choices],
            "activity_type": [any_, *ActivityType.choices],
            "status": [any_, *((s, statuses[s]) for s in public.PUBLIC_STATUSES)],
            "year": [any_, *((y, str(y)) for y in public.portfolio_years())],
        }
        for name, values in choices.items():
            self.fields[name].choices = values  # type: ignore[attr-defined]
        # The querysets were built when the module loaded: re-order them in the language
        # of this request and re-read them (new actions, new countries).
        self.fields["country"].queryset = public.portfolio_countries()  # type: ignore[attr-defined]


@require_safe
def portfolio(request: HttpRequest) -> HttpResponse:
    form = PortfolioFilterForm(request.GET or None)
    filters = public.PortfolioFilters()
    if form.is_bound:
        # An unknown value is reported next to its field; the valid ones still apply.
        form.is_valid()
        filters = public.PortfolioFilters.from_data(form.cleaned_data)
    page = EstimatingPaginator(public.public_action_list(filters), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    actions = public.attach_public_facts(page.object_list)
    # The same list as JSON: the filters that apply, not the page number.
    query = request.GET.copy()
    for name in ("page", *form.errors):
        query.pop(name, None)
    return render(
        request,
        "evaluations/public/portfolio.html",
        {
            "form": form,
            "page": page,
            "actions": actions,
            "filtered": filters != public.PortfolioFilters(),
            "api_query": query.urlencode(),
        },
    )


@require_safe
def portfolio_detail(request: HttpRequest, reference: str) -> HttpResponse:
    try:
        action = public.public_action_detail(reference)
    except NotFound:
        raise Http404 from None
    return render(request, "evaluations/public/action_detail.html", {"action": action})
