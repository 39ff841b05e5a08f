import json
from datetime import date, timedelta

from actions import services
from actions.models import Action
from tests.actions.conftest import complete_plan


def show(r):
    try:
        body = r.json()
    except Exception:
        body = r.content[:300]
    print(r.status_code, json.dumps(body, default=str)[:1500])


def test_probe(validated_assessment, staff, approver, partner, api_as):
    api = api_as(staff)
    api.raise_request_exception = False
    gaps = list(validated_assessment.gaps.values_list("pk", flat=True))
    r = api.post("/api/v1/actions/", {"assessment": validated_assessment.pk, "title": "T", "start_date": "2030-01-01", "end_date": "2030-06-30", "objectives": [{"text": "O", "gaps": gaps[:1]}]})
    show(r)
    aid = r.json()["id"]
    show(api.post("/api/v1/actions/", {"assessment": validated_assessment.pk, "title": "T"}))
    show(api.post("/api/v1/actions/", {"assessment": validated_assessment.pk, "title": "T", "objectives": [{"text": "O", "gaps": []}]}))
    show(api.post("/api/v1/actions/", {"assessment": validated_assessment.pk, "tittle": "T"}))
    obj = r.json()["objective_list"][0]["id"]
    act = {"action": aid, "type": "training", "title": "Tr", "start_date": "2030-02-01", "end_date": "2030-02-03", "modality": "onsite", "country": "TN", "city": "Tunis", "expected_participants": 10, "participants_women": 5, "participants_men": 4, "participants_other": 1, "objectives": [obj]}
    r2 = api.post("/api/v1/activities/", act); show(r2)
    show(api.post("/api/v1/activities/", {**act, "start_date": "2029-12-01"}))
    show(api.post("/api/v1/activities/", {**act, "end_date": "2031-12-01"}))
    show(api.post("/api/v1/activities/", {**act, "participants_other": 5}))
    act_id = r2.json()["id"]
    need = {"activity": act_id, "thematic_area": "data", "skills": ["stats"], "languages": ["fr"], "experts_needed": 2, "expert_days": 4, "origin_preference": "any"}
    show(api.post("/api/v1/expertise-needs/", need))
    show(api.post("/api/v1/expertise-needs/", {**need, "experts_needed": 0}))
    show(api.post("/api/v1/expertise-needs/", {**need, "experts_needed": -1}))
    show(api.post("/api/v1/expertise-needs/", {**need, "languages": ["xx"]}))
    show(api.post(f"/api/v1/actions/{aid}/return/", {}))
    show(api.post(f"/api/v1/actions/{aid}/propose/", {}))
    show(api_as(approver).post(f"/api/v1/actions/{aid}/return/", {}))
    show(api_as(approver).post(f"/api/v1/actions/{aid}/approve/", {}))
    show(api.get(f"/api/v1/actions/{aid}/amendments/"))
    show(api.post(f"/api/v1/actions/{aid}/amendments/", {"reason_category": "other"}))
    am = api.post(f"/api/v1/actions/{aid}/amendments/", {"reason_category": "other", "reason": "r", "requested_by": "me"}).json()
    show(api.patch(f"/api/v1/actions/{aid}/amendments/{am['id']}/", {"proposal": {"start_date": "x"}}))
    p = am["proposal"]
    bad = {**p, "activities": [{k: v for k, v in a.items() if k != "key"} for a in p["activities"]]}
    show(api.patch(f"/api/v1/actions/{aid}/amendments/{am['id']}/", {"proposal": bad}))
    show(api.get(f"/api/v1/actions/{aid}/amendments/{am['id']}/"))
    show(api.patch(f"/api/v1/actions/{aid}/amendments/{am['id']}/", {"proposal": {**p, "objectives": "abc"}}))
    show(api.post(f"/api/v1/actions/{aid}/amendments/{am['id']}/discard/", {}))
    show(api.get("/api/v1/actions/"))
    show(api.get("/api/v1/actions/?status=nope"))
    show(api.post(f"/api/v1/actions/{aid}/nothing/", {}))
