"""Upload checks by content (cbportal/core/uploads.py) and request attachments."""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from cbportal.core.errors import ApplicationError, NotFound, TransitionNotAllowed
from cbportal.core.uploads import CV_FORMATS, DOCUMENTS, clean_filename, validate_upload
from requests_app import services
from requests_app.models import AssistanceRequest, RequestAttachment

PDF = (
    b"%PDF-1.4\n"
    b"1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n"
    b"2 0 obj <</Type /Pages /Kids [3 0 R] /Count 1>> endobj\n"
    b"3 0 obj <</Type /Page /Parent 2 0 R /MediaBox [0 0 612 792]>> endobj\n"
    b"xref\n0 4\n0000000000 65535 f \n"
    b"trailer <</Size 4 /Root 1 0 R>>\nstartxref\n0\n%%EOF\n"
)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


PNG = (
    b"\x89PNG\r\n\x1a\n"
    + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
    + _png_chunk(b"IDAT", zlib.compress(b"\x00\xff\xff\xff"))
    + _png_chunk(b"IEND", b"")
)
JPEG = (
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    b"\xff\xdb\x00C\x00" + bytes(range(1, 65)) + b"\xff\xd9"
)
CONTENT_TYPES = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>'
)
ODT_MIMETYPE = b"application/vnd.oasis.opendocument.text"


def zip_bytes(members: list[tuple[str, bytes]], *, stored_first: bool = False) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for i, (name, data) in enumerate(members):
            kind = zipfile.ZIP_STORED if stored_first and i == 0 else zipfile.ZIP_DEFLATED
            archive.writestr(zipfile.ZipInfo(name), data, compress_type=kind)
    return buffer.getvalue()


DOCX = zip_bytes(
    [
        ("[Content_Types].xml", CONTENT_TYPES),
        ("word/document.xml", b"<w:document><w:body><w:p/></w:body></w:document>"),
    ]
)
XLSX = zip_bytes(
    [("[Content_Types].xml", CONTENT_TYPES), ("xl/workbook.xml", b"<workbook><sheets/></workbook>")]
)


def odt(mimetype: bytes = ODT_MIMETYPE) -> bytes:
    return zip_bytes(
        [("mimetype", mimetype), ("content.xml", b"<office:document-content/>")],
        stored_first=True,
    )


def upload(name: str, content: bytes, content_type: str = "application/octet-stream"):
    return SimpleUploadedFile(name, content, content_type=content_type)


# --- validate_upload ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "label"),
    [
        ("letter.pdf", PDF, "PDF"),
        ("LETTER.PDF", PDF, "PDF"),
        ("scan.png", PNG, "PNG"),
        ("photo.jpg", JPEG, "JPEG"),
        ("photo.jpeg", JPEG, "JPEG"),
        ("concept-note.docx", DOCX, "DOCX"),
        ("budget.xlsx", XLSX, "XLSX"),
        ("note.odt", odt(), "ODT"),
    ],
)
def test_it_accepts_each_document_format(name, content, label):
    kind = validate_upload(upload(name, content))
    assert kind.label == label
    assert kind in DOCUMENTS


def test_it_leaves_the_file_readable_from_the_start():
    file = upload("letter.pdf", PDF)
    validate_upload(file)
    assert file.read() == PDF


def test_it_refuses_an_empty_file():
    with pytest.raises(ApplicationError) as excinfo:
        validate_upload(upload("letter.pdf", b""))
    assert excinfo.value.field == "file"
    assert excinfo.value.message == "The file “letter.pdf” is empty."


def test_it_refuses_a_file_over_the_limit(settings):
    settings.MAX_UPLOAD_BYTES = len(PDF)
    assert validate_upload(upload("letter.pdf", PDF)).label == "PDF"  # exactly the limit
    with pytest.raises(ApplicationError) as excinfo:
        validate_upload(upload("letter.pdf", PDF + b" "))
    assert excinfo.value.field == "file"
    assert "the limit is" in excinfo.value.message
    assert "letter.pdf" in excinfo.value.message


def test_it_has_a_ten_megabyte_default_limit():
    from django.conf import settings

    assert settings.MAX_UPLOAD_BYTES == 10 * 1024 * 1024


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("invoice.pdf", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64),
        ("invoice.pdf", b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 64),
        ("invoice.pdf", b"<!DOCTYPE html><html><script>alert(1)</script></html>"),
        ("invoice.pdf", b"Dear colleagues, please find attached our request."),
        ("invoice.docx", b"#!/bin/sh\nrm -rf /\n"),
        ("photo.png", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"),
        ("archive.zip", zip_bytes([("readme.txt", b"hello")])),
        ("report.docx", zip_bytes([("readme.txt", b"hello")])),
        ("broken.docx", b"PK\x03\x04 not really a zip archive"),
        ("note.odt", odt(b"application/vnd.oasis.opendocument.spreadsheet")),
        ("note.odt", odt(b"application/x-msdownload")),
    ],
)
def test_it_refuses_a_disguised_or_unknown_type(name, content):
    with pytest.raises(ApplicationError) as excinfo:
        validate_upload(upload(name, content, content_type="application/pdf"))
    assert excinfo.value.field == "file"
    assert excinfo.value.message == (
        f"“{name}” is not an accepted document. Accepted formats: PDF, DOCX, XLSX, ODT, PNG, JPEG."
    )


@pytest.mark.parametrize(
    ("name", "content", "label"),
    [
        ("letter.docx", PDF, "PDF"),
        ("letter", PDF, "PDF"),
        ("scan.jpg", PNG, "PNG"),
        ("budget.docx", XLSX, "XLSX"),
        ("note.docx", odt(), "ODT"),
    ],
)
def test_it_refuses_a_name_that_disagrees_with_the_content(name, content, label):
    with pytest.raises(ApplicationError) as excinfo:
        validate_upload(upload(name, content))
    assert excinfo.value.field == "file"
    assert excinfo.value.message.startswith(f"“{name}” contains a {label} document")
    assert "Rename it" in excinfo.value.message


def test_it_checks_against_the_allowed_kinds():
    with pytest.raises(ApplicationError, match="Accepted formats: PDF, DOCX, ODT"):
        validate_upload(upload("scan.png", PNG), CV_FORMATS)


# --- clean_filename ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "clean"),
    [
        ("letter.pdf", "letter.pdf"),
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("/var/www/letter.pdf", "letter.pdf"),
        ("C:\\x\\y.pdf", "y.pdf"),
        ("..\\..\\boot.ini.pdf", "boot.ini.pdf"),
        ("my report (final)!.pdf", "my_report_final.pdf"),
        ("a<b>|c?.PDF", "abc.pdf"),
        ("rapport été.docx", "rapport_été.docx"),
        ("", "file"),
    ],
)
def test_it_cleans_file_names(name, clean):
    assert clean_filename(name) == clean


def test_it_shortens_long_file_names():
    cleaned = clean_filename("x" * 300 + ".pdf")
    assert cleaned == "x" * 100 + ".pdf"


@pytest.mark.parametrize("name", ["???.pdf", "«».pdf", "().pdf"])
def test_it_names_a_file_without_letters_file(name):
    assert clean_filename(name) == "file.pdf"


def test_it_strips_control_characters_from_the_extension():
    assert re.fullmatch(r"[\w.-]+", clean_filename("x.pd\x00f\r\n"))


# --- attachment_add / attachment_remove --------------------------------------------------


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def stored_files(root):
    return sorted(p for p in root.rglob("*") if p.is_file())


def attach(request, by, name="Official letter (signed).pdf", content=PDF, kind="official_letter"):
    return services.attachment_add(
        request_id=request.pk, by=by, upload=upload(name, content), kind=kind
    )


def test_it_stores_an_attachment_under_a_random_name(media, request_in, partner):
    request = request_in("draft")
    attachment = attach(request, partner)
    assert attachment.request == request
    assert attachment.original_name == "Official_letter_signed.pdf"
    assert (attachment.kind, attachment.content_type) == ("official_letter", "application/pdf")
    assert (attachment.size, attachment.uploaded_by) == (len(PDF), partner)
    (path,) = stored_files(media)
    assert path.read_bytes() == PDF
    assert re.fullmatch(r"requests/\d{4}/\d{2}/[0-9a-f]{32}\.pdf", attachment.file.name)
    assert path == media / attachment.file.name
    assert "letter" not in attachment.file.name.lower()
    second = attach(request, partner)
    assert second.file.name != attachment.file.name
    assert len(stored_files(media)) == 2


@pytest.mark.parametrize("persona", ["partner2", "expert", "evaluator"])
def test_it_hides_the_request_from_outsiders_on_attach(media, request_in, personas, persona):
    request = request_in("draft")
    with pytest.raises(NotFound):
        attach(request, personas[persona])
    assert not RequestAttachment.objects.exists()
    assert stored_files(media) == []


@pytest.mark.parametrize(
    ("state", "allowed"),
    [
        ("draft", True),
        ("submitted", False),
        ("under_review", False),
        ("info_requested", True),
        ("accepted", False),
        ("declined", False),
        ("withdrawn", False),
    ],
)
def test_it_lets_the_partner_attach_while_they_may_change_the_request(
    media, request_in, partner, state, allowed
):
    request = request_in(state)
    if allowed:
        assert attach(request, partner).pk
        return
    with pytest.raises(TransitionNotAllowed) as excinfo:
        attach(request, partner)
    assert excinfo.value.status_code == 409
    assert excinfo.value.message == "Documents can no longer be added to this request."
    assert not RequestAttachment.objects.exists()
    assert stored_files(media) == []


@pytest.mark.parametrize(
    ("state", "allowed"),
    [
        ("draft", False),
        ("submitted", True),
        ("under_review", True),
        ("info_requested", True),
        ("accepted", False),
        ("declined", False),
    ],
)
def test_it_lets_staff_attach_while_the_request_is_open(media, request_in, staff, state, allowed):
    request = request_in(state)
    if allowed:
        assert attach(request, staff, kind="background").uploaded_by == staff
        return
    with pytest.raises(TransitionNotAllowed):
        attach(request, staff)
    assert not RequestAttachment.objects.exists()


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("letter.pdf", b""),
        ("letter.pdf", b"MZ\x90\x00" + b"\x00" * 64),
        ("letter.docx", PDF),
        ("letter.pdf", b"<html></html>"),
    ],
)
def test_it_keeps_nothing_of_a_refused_upload(media, request_in, partner, name, content):
    request = request_in("draft")
    with pytest.raises(ApplicationError) as excinfo:
        attach(request, partner, name=name, content=content)
    assert excinfo.value.field == "file"
    assert not RequestAttachment.objects.exists()
    assert stored_files(media) == []


def test_it_keeps_nothing_of_a_too_large_upload(media, settings, request_in, partner):
    settings.MAX_UPLOAD_BYTES = 64
    request = request_in("draft")
    with pytest.raises(ApplicationError, match="the limit is"):
        attach(request, partner)
    assert not RequestAttachment.objects.exists()
    assert stored_files(media) == []


def test_it_requires_a_known_kind_of_document(media, request_in, partner):
    request = request_in("draft")
    with pytest.raises(ApplicationError) as excinfo:
        attach(request, partner, kind="passport")
    assert excinfo.value.field == "kind"
    assert stored_files(media) == []


def test_it_stores_a_document_whose_name_has_no_letters(media, request_in, partner):
    request = request_in("draft")
    assert attach(request, partner, name="???.pdf").original_name == "file.pdf"


def test_it_removes_an_attachment_from_a_draft(
    media, request_in, partner, django_capture_on_commit_callbacks
):
    request = request_in("draft")
    attachment = attach(request, partner)
    with django_capture_on_commit_callbacks(execute=True):
        services.attachment_remove(attachment_id=attachment.pk, by=partner)
    assert not RequestAttachment.objects.exists()
    assert stored_files(media) == []


@pytest.mark.parametrize("state", ["submitted", "info_requested", "accepted"])
def test_it_keeps_attachments_once_submitted(media, request_factory, partner, staff, state):
    request = request_factory()
    attachment = attach(request, partner)
    services.request_submit(request_id=request.pk, by=partner)
    if state != "submitted":
        services.request_start_review(request_id=request.pk, by=staff)
    if state == "info_requested":
        services.request_request_info(request_id=request.pk, by=staff, message="Signed copy?")
    if state == "accepted":
        services.request_accept(request_id=request.pk, by=staff)
    assert AssistanceRequest.objects.get(pk=request.pk).status == state
    with pytest.raises(TransitionNotAllowed, match="only be removed from a draft"):
        services.attachment_remove(attachment_id=attachment.pk, by=partner)
    assert RequestAttachment.objects.filter(pk=attachment.pk).exists()
    assert len(stored_files(media)) == 1


def test_it_lets_neither_staff_nor_outsiders_remove_a_draft_attachment(
    media, request_in, partner, partner2, staff
):
    attachment = attach(request_in("draft"), partner)
    with pytest.raises(TransitionNotAllowed):
        services.attachment_remove(attachment_id=attachment.pk, by=staff)
    with pytest.raises(NotFound):
        services.attachment_remove(attachment_id=attachment.pk, by=partner2)
    with pytest.raises(NotFound):
        services.attachment_remove(attachment_id=987654, by=partner)
    assert RequestAttachment.objects.filter(pk=attachment.pk).exists()
    assert len(stored_files(media)) == 1
