"""Uploads and downloads as users meet them, through each way a document comes in.

cbportal/core/uploads.py (sniffing, size, names) is tested on its own in
tests/requests_app/test_uploads.py; here every entry point — a request's attachments on the
page and the API, an expert's CV on the page and the API, a measurement's evidence — is
shown to use it: a renamed executable is refused, an oversized file is refused, a hostile
name is stored under a random one and served cleaned; and every download is an attachment
with ``nosniff``, not cached, and a 404 for someone from another organisation.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile

from evaluations.models import Measurement
from experts.models import Expert
from requests_app.models import RequestAttachment
from tests.evaluations.builders import make_indicator, running_action
from tests.experts.builders import make_expert
from tests.requests_app.helpers import PDF_BYTES, make_draft

EXECUTABLE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200
# A path to climb out of the media folder, a non-ASCII letter, a control character. (A CR
# or LF cannot get through: the multipart header ends there, and the name with it.)
HOSTILE_NAME = "../../../etc/cron.d/Rapport été\x07.pdf"
CLEANED_NAME = "Rapport_été.pdf"


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    return settings.MEDIA_ROOT


def stored(media: Path) -> list[Path]:
    return sorted(p for p in media.parent.rglob("*") if p.is_file())


def file(name: str, content: bytes = PDF_BYTES) -> SimpleUploadedFile:
    # The browser's claimed type is whatever the client says: it is never trusted.
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def flashed(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def assert_safe_download(response, filename: str) -> None:
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF_BYTES
    assert response["Content-Type"] == "application/pdf"
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "/" not in disposition and ".." not in disposition
    assert "\r" not in disposition and "\n" not in disposition
    if filename.isascii():
        assert f'filename="{filename}"' in disposition
    else:
        # RFC 6266: a non-ASCII name travels percent-encoded in filename*.
        assert "filename*=utf-8''" in disposition
        assert "Rapport_%C3%A9t%C3%A9.pdf" in disposition
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, no-store"


# --- A request's attachments ----------------------------------------------------------------


def test_the_request_page_refuses_a_renamed_executable(client, media, partner):
    draft = make_draft(partner)
    client.force_login(partner)
    response = client.post(
        f"/requests/{draft.pk}/attachments/",
        {"file": file("letter.pdf", EXECUTABLE), "kind": "official_letter"},
    )
    assert response.status_code == 302
    assert any("is not an accepted document" in m for m in flashed(response))
    assert not RequestAttachment.objects.exists()
    assert stored(media) == []


def test_the_request_page_refuses_a_file_over_the_limit(client, media, partner, settings):
    settings.MAX_UPLOAD_BYTES = len(PDF_BYTES) - 1
    draft = make_draft(partner)
    client.force_login(partner)
    response = client.post(
        f"/requests/{draft.pk}/attachments/",
        {"file": file("letter.pdf"), "kind": "official_letter"},
    )
    assert any("the limit is" in m for m in flashed(response))
    assert stored(media) == []


def test_the_request_api_refuses_a_renamed_executable(api_as, media, partner):
    draft = make_draft(partner)
    response = api_as(partner).post(
        f"/api/v1/requests/{draft.pk}/attachments/",
        {"file": file("letter.pdf", EXECUTABLE)},
        format="multipart",
    )
    assert response.status_code == 400
    assert [e["attr"] for e in response.json()["errors"]] == ["file"]
    assert stored(media) == []


def test_a_hostile_name_is_stored_randomly_and_served_cleaned(
    client, api_as, media, partner, partner2
):
    draft = make_draft(partner)
    client.force_login(partner)
    client.post(
        f"/requests/{draft.pk}/attachments/",
        {"file": file(HOSTILE_NAME), "kind": "official_letter"},
    )
    attachment = RequestAttachment.objects.get()
    assert attachment.original_name == CLEANED_NAME
    (path,) = stored(media)
    assert path.is_relative_to(media)
    assert re.fullmatch(r"[0-9a-f]{32}\.pdf", path.name)

    page_url = f"/requests/{draft.pk}/attachments/{attachment.pk}/"
    assert_safe_download(client.get(page_url), CLEANED_NAME)
    api_url = f"/api/v1/requests/{draft.pk}/attachments/{attachment.pk}/"
    assert_safe_download(api_as(partner).get(api_url), CLEANED_NAME)

    # Another organisation learns nothing, not even that the request exists.
    client.force_login(partner2)
    assert client.get(page_url).status_code == 404
    assert api_as(partner2).get(api_url).status_code == 404


# --- An expert's CV ---------------------------------------------------------------------


@pytest.fixture
def profile(expert, staff) -> Expert:
    return make_expert(expert, by=staff)


def test_the_cv_form_refuses_a_renamed_executable(client, media, expert, profile):
    client.force_login(expert)
    response = client.post(
        f"/experts/{profile.pk}/cv/upload/", {"cv-file": file("cv.pdf", EXECUTABLE)}
    )
    assert response.status_code == 400
    assert "is not an accepted document" in response.content.decode()
    profile.refresh_from_db()
    assert not profile.cv
    assert stored(media) == []


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("cv.pdf", EXECUTABLE, "is not an accepted document"),
        ("cv.docx", PDF_BYTES, "contains a PDF document but its name says otherwise"),
        ("cv.pdf", PDF_BYTES + b"%" * 100, "the limit is"),
    ],
)
def test_the_cv_api_refuses_what_the_checks_refuse(
    api_as, media, expert, profile, settings, name, content, message
):
    settings.MAX_UPLOAD_BYTES = len(PDF_BYTES) + 50
    response = api_as(expert).post(
        f"/api/v1/experts/{profile.pk}/cv/", {"file": file(name, content)}, format="multipart"
    )
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["attr"] == "file"
    assert message in error["detail"]
    assert stored(media) == []


def test_a_cv_is_served_as_a_cleaned_attachment_to_those_who_may_see_it(
    client, api_as, media, expert, staff, partner, profile
):
    uploaded = api_as(expert).post(
        f"/api/v1/experts/{profile.pk}/cv/", {"file": file(HOSTILE_NAME)}, format="multipart"
    )
    assert uploaded.status_code == 200, uploaded.content
    (path,) = stored(media)
    assert path.is_relative_to(media)
    relative = path.relative_to(media)
    assert relative.parts[:2] == ("cv", str(profile.pk))
    assert "cron" not in str(relative) and "\x07" not in str(relative)

    for user in (expert, staff):
        client.force_login(user)
        assert_safe_download(client.get(f"/experts/{profile.pk}/cv/"), CLEANED_NAME)
        assert_safe_download(api_as(user).get(f"/api/v1/experts/{profile.pk}/cv/"), CLEANED_NAME)

    client.force_login(partner)
    assert client.get(f"/experts/{profile.pk}/cv/").status_code == 404
    assert api_as(partner).get(f"/api/v1/experts/{profile.pk}/cv/").status_code == 404


# --- A measurement's evidence -----------------------------------------------------------


@pytest.fixture
def indicator(partner, staff, approver, evaluator):
    action = running_action(partner, staff, approver, evaluator=evaluator)
    return make_indicator(action, evaluator)


def _measure(api, indicator, upload):
    return api.post(
        "/api/v1/measurements/",
        {
            "indicator": indicator.pk,
            "date": str(indicator.action.start_date),
            "value": "10",
            "evidence_file": upload,
        },
        format="multipart",
    )


def test_evidence_refuses_a_renamed_executable(api_as, media, evaluator, indicator):
    response = _measure(api_as(evaluator), indicator, file("inspection.pdf", EXECUTABLE))
    assert response.status_code == 400
    assert "evidence_file" in {e["attr"] for e in response.json()["errors"]}
    assert not Measurement.objects.exists()
    assert stored(media) == []


def test_evidence_is_served_as_a_cleaned_attachment_to_its_organisation_only(
    client, api_as, media, evaluator, partner, partner2, indicator
):
    created = _measure(api_as(evaluator), indicator, file(HOSTILE_NAME))
    assert created.status_code == 201, created.content
    download_url = created.json()["evidence_file"]
    (path,) = stored(media)
    assert path.is_relative_to(media)

    client.force_login(partner)
    assert_safe_download(client.get(download_url), CLEANED_NAME)
    client.force_login(partner2)
    assert client.get(download_url).status_code == 404
