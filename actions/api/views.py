from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from django.db import transaction
from django.db.models import QuerySet
from django.http import QueryDict
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action as route
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from actions import plan, selectors, services
from actions.api.serializers import (
    ActionSerializer,
    ActivitySerializer,
    AmendmentSerializer,
    ExpertiseNeedSerializer,
)
from actions.exports import ACTION_COLUMNS, ACTIVITY_COLUMNS
from actions.models import Action, ActionStatus, Activity, Amendment, ExpertiseNeed
from cbportal.accounts.models import User
from cbportal.core.api.exports import ExportMixin
from cbportal.core.api.filters import VisibleChoiceFilter
from cbportal.core.api.transitions import transition_schema, transition_text
from cbportal.core.errors import ApplicationError, NotFound
from requests_app.api.views import visible_organisations


def _user(request: Any) -> User:
    return cast(User, request.user)


def _update_body(current: dict[str, Any], data: Any, *, partial: bool) -> Any:
    """The body an activity or need edit validates: on PATCH the current item overlaid with
    the fields sent. A body that is not an object (a list, a number) is refused as DRF
    refuses it anywhere else (400), and form data stays a QueryDict so that list fields
    still read every value of a repeated key."""
    if not isinstance(data, Mapping):
        message = serializers.Serializer.default_error_messages["invalid"]
        raise serializers.ValidationError(
            {api_settings.NON_FIELD_ERRORS_KEY: [message.format(datatype=type(data).__name__)]},
            code="invalid",
        )
    if isinstance(data, QueryDict):
        if not partial:
            return data.copy()
        merged = QueryDict(mutable=True)
        for key, value in current.items():
            merged.setlist(key, value if isinstance(value, list) else [value])
        for key, values in data.lists():
            merged.setlist(key, values)
        return merged
    return {**current, **data} if partial else dict(data)


def _objective_edit(items: list[dict[str, Any]]) -> services.PlanEdit:
    """Replace the objectives with ``items`` (``id`` keeps and changes one)."""

    def edit(p: plan.Plan, a: Action) -> plan.Plan:
        keep = {f"o{i['id']}" for i in items if i.get("id")}
        for existing in [o["key"] for o in p["objectives"] if o["key"] not in keep]:
            p = plan.remove_objective(p, existing)
        for item in items:
            key = f"o{item['id']}" if item.get("id") else None
            p = plan.save_objective(p, a, key=key, text=item["text"], gaps=item["gaps"])
        return p

    return edit


class ActionFilter(filters.FilterSet):
    status = filters.MultipleChoiceFilter(choices=ActionStatus.choices)
    country = filters.CharFilter(field_name="country__code", lookup_expr="iexact")
    region = filters.CharFilter(field_name="country__region")
    organisation = VisibleChoiceFilter(
        visible_organisations,
        message=gettext_lazy(
            "There is no organisation %(value)s among those whose actions you may see."
        ),
    )
    thematic_area = filters.CharFilter(field_name="thematic_areas__slug", distinct=True)
    gcm_objective = filters.NumberFilter(field_name="gcm_objectives__number", distinct=True)
    starts_after = filters.DateFilter(field_name="start_date", lookup_expr="gte")
    ends_before = filters.DateFilter(field_name="end_date", lookup_expr="lte")

    class Meta:
        model = Action
        fields = ["status", "country", "region", "organisation", "thematic_area", "gcm_objective"]


# The download takes the list's filters, search and ordering: show them in the schema.
class ActionViewSet(
    ExportMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Tailor-made actions. Staff create one from a validated assessment, design its plan
    (objectives here; activities and expertise needs in their own collections), propose it;
    an approver who did not propose it approves; the partner co-signs (``sign``); staff
    start, complete, suspend, resume, cancel. Amendments change an agreed plan."""

    serializer_class = ActionSerializer
    filterset_class = ActionFilter
    export_columns = ACTION_COLUMNS
    export_filename = "actions"
    search_fields = ["reference", "title", "summary"]
    ordering_fields = ["created_at", "start_date", "reference", "status"]
    ordering = ["-created_at", "-id"]
    conflict_actions = (
        "update",
        "partial_update",
        "propose",
        "return_",
        "approve",
        "sign",
        "start",
        "complete",
        "close",
        "suspend",
        "resume",
        "cancel",
        "amendments",
        "amendment",
        "amendment_transition",
    )
    queryset = Action.objects.none()

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return Action.objects.none()
        qs = selectors.action_list(self.request.user).prefetch_related(
            "objectives__gaps", "evaluators"
        )
        return qs

    def _fresh(self, pk: int) -> Any:
        return self.get_queryset().get(pk=pk)

    def perform_create(self, serializer: Any) -> None:
        data = dict(serializer.validated_data)
        user = _user(self.request)
        with transaction.atomic():
            created = services.action_create(
                assessment_id=data.pop("assessment_id"), by=user, data=data
            )
            if data.get("objectives"):
                services.action_plan_edit(
                    action_id=created.pk, by=user, edit=_objective_edit(data["objectives"])
                )
            extra = {k: data[k] for k in ("evaluators", "publish") if k in data}
            if extra:
                services.action_update(action_id=created.pk, by=user, data=extra)
        serializer.instance = self._fresh(created.pk)

    def perform_update(self, serializer: Any) -> None:
        instance = self.get_object()
        data = dict(serializer.validated_data)
        user = _user(self.request)
        if "assessment_id" in data and data.pop("assessment_id") != instance.assessment_id:
            raise ApplicationError(
                _("An action stays with its needs assessment."), field="assessment"
            )
        with transaction.atomic():
            if "start_date" in data or "end_date" in data:
                start, end = (
                    data.pop("start_date", instance.start_date),
                    data.pop("end_date", instance.end_date),
                )
                services.action_plan_edit(
                    action_id=instance.pk, by=user, edit=lambda p, a: plan.set_period(p, start, end)
                )
            if "objectives" in data:
                services.action_plan_edit(
                    action_id=instance.pk, by=user, edit=_objective_edit(data.pop("objectives"))
                )
            if data:
                services.action_update(action_id=instance.pk, by=user, data=data)
        serializer.instance = self._fresh(instance.pk)

    def _fire(self, request: Request, name: str) -> Response:
        obj = self.get_object()
        services.action_transition(
            action_id=obj.pk, name=name, by=_user(request), text=transition_text(request.data)
        )
        return Response(self.get_serializer(self._fresh(obj.pk)).data)

    @transition_schema(ActionSerializer, "Staff: propose a complete plan for approval.")
    @route(detail=True, methods=["post"])
    def propose(self, request: Request, pk: Any = None) -> Response:
        return self._fire(request, "propose")

    @transition_schema(ActionSerializer, "Approver: return the plan to design (`reason` required).")
    @route(detail=True, methods=["post"], url_path="return")
    def return_(self, request: Request, pk: Any = None) -> Response:
        return self._fire(request, "return")

    @transition_schema(ActionSerializer, "Approver (not the proposer): approve the plan.")
    @route(detail=True, methods=["post"])
    def approve(self, request: Request, pk: Any = None) -> Response:
        return self._fire(request, "approve")

    @transition_schema(
        ActionSerializer, "Partner: co-sign the approved plan (`comment`: the signatory's name)."
    )
    @route(detail=True, methods=["post"])
    def sign(self, request: Request, pk: Any = None) -> Response:
        return self._fire(request, "sign")

    @transition_schema(ActionSerializer, "Staff: start implementation (after the co-signature).")
    @route(detail=True, methods=["post"])
    def start(self, request: Request, pk: Any = None) -> Response:
        return self._fire(request, "start")

    @transition_schema(ActionSerializer, "Staff: mark implementation complete.")
    @route(detail=True, methods=["post"])
    def complete(self, request: Request, pk: Any = None) -> Response:
        return self._fire(request, "complete")

    @transition_schema(ActionSerializer, "Staff: close (after the final evaluation is submitted).")
    @route(detail=True, methods=["post"])
    def close(self, request: Request, pk: Any = None) -> Response:
        return self._fire(request, "close")

    @transition_schema(ActionSerializer, "Staff: suspend (`reason` required).")
    @route(detail=True, methods=["post"])
    def suspend(self, request: Request, pk: Any = None) -> Response:
        return self._fire(request, "suspend")

    @transition_schema(ActionSerializer, "Staff: resume where it was (`reason` required).")
    @route(detail=True, methods=["post"])
    def resume(self, request: Request, pk: Any = None) -> Response:
        return self._fire(request, "resume")

    @transition_schema(ActionSerializer, "Staff: cancel (`reason` required).")
    @route(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: Any = None) -> Response:
        return self._fire(request, "cancel")

    # --- amendments: /actions/<id>/amendments/ ------------------------------------------

    def _amendments(self, obj: Action) -> Any:
        return selectors.amendments_for(_user(self.request), obj)

    @extend_schema(methods=["GET"], responses=AmendmentSerializer(many=True))
    @extend_schema(
        methods=["POST"],
        request=AmendmentSerializer,
        responses={201: AmendmentSerializer},
        operation_id="v1_actions_amendments_open",
    )
    # The amendments come as one plain list: neither the actions' pages nor their filters.
    @route(detail=True, methods=["get", "post"], pagination_class=None, filter_backends=[])
    def amendments(self, request: Request, pk: Any = None) -> Response:
        obj = self.get_object()
        if request.method == "GET":
            return Response(
                AmendmentSerializer(
                    self._amendments(obj), many=True, context={"request": request}
                ).data
            )
        form = AmendmentSerializer(data=request.data, context={"request": request})
        form.is_valid(raise_exception=True)
        data = form.validated_data
        with transaction.atomic():  # a refused proposal leaves no half-made amendment
            amendment = services.amendment_create(
                action_id=obj.pk,
                by=_user(request),
                reason_category=data["reason_category"],
                reason=data.get("reason", ""),
                requested_by=data.get("requested_by", ""),
            )
            if "proposal" in data:
                amendment = self._replace_proposal(amendment, data["proposal"], request)
        return Response(
            AmendmentSerializer(amendment, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )

    def _get_amendment(self, obj: Action, amendment_id: str) -> Amendment:
        amendment = self._amendments(obj).filter(pk=int(amendment_id)).first()
        if amendment is None:
            raise NotFound()
        return amendment

    def _replace_proposal(self, amendment: Amendment, proposal: Any, request: Request) -> Amendment:
        shape = plan.shape_errors(proposal)
        if shape:
            raise ApplicationError(" ".join(shape), field="proposal")
        problems = plan.plan_problems(proposal, amendment.action)
        if problems:
            raise ApplicationError(" ".join(problems), field="proposal")
        return services.amendment_plan_edit(
            amendment_id=amendment.pk, by=_user(request), edit=lambda p, a: proposal
        )

    @extend_schema(methods=["GET"], responses=AmendmentSerializer)
    @extend_schema(methods=["PATCH"], request=AmendmentSerializer, responses=AmendmentSerializer)
    @route(detail=True, methods=["get", "patch"], url_path=r"amendments/(?P<amendment_id>\d+)")
    def amendment(self, request: Request, pk: Any = None, amendment_id: str = "") -> Response:
        obj = self.get_object()
        amendment = self._get_amendment(obj, amendment_id)
        if request.method == "PATCH":
            form = AmendmentSerializer(
                amendment, data=request.data, partial=True, context={"request": request}
            )
            form.is_valid(raise_exception=True)
            data = dict(form.validated_data)
            proposal = data.pop("proposal", None)
            with transaction.atomic():
                if data:
                    services.amendment_update(
                        amendment_id=amendment.pk, by=_user(request), data=data
                    )
                if proposal is not None:
                    self._replace_proposal(amendment, proposal, request)
            amendment.refresh_from_db()
        return Response(AmendmentSerializer(amendment, context={"request": request}).data)

    @transition_schema(
        AmendmentSerializer,
        "propose (staff), approve / reject (approver), sign / decline (partner), discard (staff).",
        operation_id="v1_actions_amendments_transition",
    )
    @route(
        detail=True,
        methods=["post"],
        url_path=r"amendments/(?P<amendment_id>\d+)/(?P<transition>propose|approve|reject|sign|decline|discard)",
    )
    def amendment_transition(
        self, request: Request, pk: Any = None, amendment_id: str = "", transition: str = ""
    ) -> Response:
        obj = self.get_object()
        amendment = self._get_amendment(obj, amendment_id)
        amendment = services.amendment_transition(
            amendment_id=amendment.pk,
            name=transition,
            by=_user(request),
            text=transition_text(request.data),
        )
        return Response(AmendmentSerializer(amendment, context={"request": request}).data)


def _visible_actions(user: Any) -> QuerySet[Action]:
    return selectors.actions_for(user) if user is not None else Action.objects.none()


class ActivityFilter(filters.FilterSet):
    action = VisibleChoiceFilter(
        _visible_actions,
        message=gettext_lazy("There is no action %(value)s among those you may see."),
    )
    starts_after = filters.DateFilter(field_name="start_date", lookup_expr="gte")
    starts_before = filters.DateFilter(field_name="start_date", lookup_expr="lte")

    class Meta:
        model = Activity
        fields = ["action", "type", "modality", "status"]


def _activity_item(data: dict[str, Any]) -> dict[str, Any]:
    item = {k: v for k, v in data.items() if k != "action_id"}
    item["country"] = item["country"].code if item.get("country") else ""
    item["objectives"] = [f"o{pk}" for pk in item.get("objectives", [])]
    return item


# The download takes the list's filters, search and ordering: show them in the schema.
class ActivityViewSet(ExportMixin, viewsets.ModelViewSet):
    """Activities of actions the user may see. They change while the action is in design;
    an agreed plan changes through an amendment."""

    serializer_class = ActivitySerializer
    filterset_class = ActivityFilter
    export_columns = ACTIVITY_COLUMNS
    export_filename = "activities"
    search_fields = ["title", "description", "city"]
    ordering_fields = ["start_date", "title"]
    ordering = ["start_date", "id"]
    conflict_actions = ("create", "update", "partial_update", "destroy")
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]
    queryset = Activity.objects.none()

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return Activity.objects.none()
        return selectors.activities_for(self.request.user).prefetch_related("objectives")

    def _action_of(self, action_id: int) -> Action:
        return selectors.action_detail(_user(self.request), action_id)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        form = self.get_serializer(data=request.data)
        form.is_valid(raise_exception=True)
        action = self._action_of(form.validated_data["action_id"])
        created: dict[str, str] = {}

        def edit(p: plan.Plan, a: Action) -> plan.Plan:
            new = plan.save_activity(p, key=None, data=_activity_item(form.validated_data))
            created["key"] = next(
                x["key"]
                for x in new["activities"]
                if x["key"] not in {y["key"] for y in p["activities"]}
            )
            return new

        ids = services.action_plan_edit(action_id=action.pk, by=_user(request), edit=edit)
        activity = self.get_queryset().get(pk=ids[created["key"]])
        return Response(self.get_serializer(activity).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        activity = self.get_object()
        current = self.get_serializer(activity).data
        current["action"] = activity.action_id
        merged = _update_body(current, request.data, partial=bool(kwargs.get("partial")))
        merged.pop("id", None)
        form = self.get_serializer(data=merged)
        form.is_valid(raise_exception=True)
        if form.validated_data["action_id"] != activity.action_id:
            raise ApplicationError(_("An activity stays in its action."), field="action")
        services.action_plan_edit(
            action_id=activity.action_id,
            by=_user(request),
            edit=lambda p, a: plan.save_activity(
                p, key=f"a{activity.pk}", data=_activity_item(form.validated_data)
            ),
        )
        return Response(self.get_serializer(self.get_queryset().get(pk=activity.pk)).data)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        activity = self.get_object()
        services.action_plan_edit(
            action_id=activity.action_id,
            by=_user(request),
            edit=lambda p, a: plan.remove_activity(p, f"a{activity.pk}"),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class NeedFilter(filters.FilterSet):
    action = filters.NumberFilter(field_name="activity__action_id")
    activity = filters.NumberFilter(field_name="activity_id")
    thematic_area = filters.CharFilter(field_name="thematic_area__slug")

    class Meta:
        model = ExpertiseNeed
        fields = ["action", "activity", "thematic_area", "origin_preference"]


def _need_item(data: dict[str, Any]) -> dict[str, Any]:
    item = {k: v for k, v in data.items() if k != "activity_id"}
    item["thematic_area"] = item["thematic_area"].slug
    item["languages"] = [lang.code for lang in item.get("languages") or []]
    return item


class ExpertiseNeedViewSet(viewsets.ModelViewSet):
    """The expertise each activity needs (thematic area, skills, languages, how many experts
    for how many days, origin preference). Changes while the action is in design."""

    serializer_class = ExpertiseNeedSerializer
    filterset_class = NeedFilter
    search_fields = ["notes", "skills__name"]
    ordering_fields = ["id"]
    ordering = ["id"]
    conflict_actions = ("create", "update", "partial_update", "destroy")
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]
    queryset = ExpertiseNeed.objects.none()

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return ExpertiseNeed.objects.none()
        return selectors.needs_for(self.request.user)

    def _activity_of(self, activity_id: int) -> Activity:
        activity = selectors.activities_for(_user(self.request)).filter(pk=activity_id).first()
        if activity is None:
            raise NotFound()
        return activity

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        form = self.get_serializer(data=request.data)
        form.is_valid(raise_exception=True)
        activity = self._activity_of(form.validated_data["activity_id"])
        akey = f"a{activity.pk}"
        created: dict[str, str] = {}

        def edit(p: plan.Plan, a: Action) -> plan.Plan:
            before = {n["key"] for x in p["activities"] for n in x.get("needs", [])}
            new = plan.save_need(
                p, activity_key=akey, key=None, data=_need_item(form.validated_data)
            )
            created["key"] = next(
                n["key"]
                for x in new["activities"]
                for n in x.get("needs", [])
                if n["key"] not in before
            )
            return new

        ids = services.action_plan_edit(action_id=activity.action_id, by=_user(request), edit=edit)
        need = self.get_queryset().get(pk=ids[created["key"]])
        return Response(self.get_serializer(need).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        need = self.get_object()
        current = self.get_serializer(need).data
        merged = _update_body(current, request.data, partial=bool(kwargs.get("partial")))
        merged.pop("id", None)
        form = self.get_serializer(data=merged)
        form.is_valid(raise_exception=True)
        if form.validated_data["activity_id"] != need.activity_id:
            raise ApplicationError(_("A need stays with its activity."), field="activity")
        services.action_plan_edit(
            action_id=need.activity.action_id,
            by=_user(request),
            edit=lambda p, a: plan.save_need(
                p,
                activity_key=f"a{need.activity_id}",
                key=f"n{need.pk}",
                data=_need_item(form.validated_data),
            ),
        )
        return Response(self.get_serializer(self.get_queryset().get(pk=need.pk)).data)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        need = self.get_object()
        services.action_plan_edit(
            action_id=need.activity.action_id,
            by=_user(request),
            edit=lambda p, a: plan.remove_need(
                p, activity_key=f"a{need.activity_id}", key=f"n{need.pk}"
            ),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
