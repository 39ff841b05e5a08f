"""Uploaded files are checked by what they contain, not by what they are called.

``filetype`` recognises PDF and images by their magic numbers. Office documents are ZIP
containers whose first bytes look alike, so they are told apart by their members
(``word/document.xml``, ``xl/workbook.xml``, an ODF ``mimetype`` entry). The extension of
the name must agree with the content, which defeats a renamed executable or script.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import PurePath
from typing import IO

import filetype
from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.template.defaultfilters import filesizeformat
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _

from cbportal.core.errors import ApplicationError


@dataclass(frozen=True)
class FileKind:
    extensions: tuple[str, ...]
    content_type: str
    label: str


PDF = FileKind((".pdf",), "application/pdf", "PDF")
DOCX = FileKind(
    (".docx",), "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "DOCX"
)
XLSX = FileKind(
    (".xlsx",), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "XLSX"
)
ODT = FileKind((".odt",), "application/vnd.oasis.opendocument.text", "ODT")
PNG = FileKind((".png",), "image/png", "PNG")
JPEG = FileKind((".jpg", ".jpeg"), "image/jpeg", "JPEG")

DOCUMENTS = (PDF, DOCX, XLSX, ODT, PNG, JPEG)
CV_FORMATS = (PDF, DOCX, ODT)


def _sniff_zip(fh: IO[bytes]) -> FileKind | None:
    try:
        with zipfile.ZipFile(fh) as archive:
            names = set(archive.namelist())
            if "mimetype" in names:
                mimetype = archive.read("mimetype").decode("ascii", "replace").strip()
                return ODT if mimetype == ODT.content_type else None
            if "word/document.xml" in names:
                return DOCX
            if "xl/workbook.xml" in names:
                return XLSX
    except (zipfile.BadZipFile, OSError, KeyError):
        return None
    return None


def sniff(fh: IO[bytes]) -> FileKind | None:
    """The kind of document in ``fh`` (any seekable binary file), or None."""
    fh.seek(0)
    head = fh.read(8192)
    fh.seek(0)
    guess = filetype.guess(head)
    result: FileKind | None = None
    if guess is not None:
        if guess.extension == "pdf":
            result = PDF
        elif guess.extension == "png":
            result = PNG
        elif guess.extension == "jpg":
            result = JPEG
    if result is None and head.startswith(b"PK\x03\x04"):
        result = _sniff_zip(fh)
    fh.seek(0)
    return result


def clean_filename(name: str) -> str:
    """A safe display name: no path, no control characters, at most 120 characters."""
    base = PurePath(name.replace("\\", "/")).name or "file"
    stem, suffix = PurePath(base).stem, PurePath(base).suffix.lower()
    try:
        safe = get_valid_filename(stem) if stem else "file"
    except SuspiciousFileOperation:  # nothing usable left, e.g. "???.pdf"
        safe = "file"
    suffix = re.sub(r"[^\w.]", "", suffix)
    return f"{safe[:100]}{suffix[:10]}"


def validate_upload(upload: object, allowed: tuple[FileKind, ...] = DOCUMENTS) -> FileKind:
    """Check an uploaded file: not empty, not too large, an allowed kind whose content
    matches its extension. Raises ``ApplicationError`` with a message for the user."""
    size = getattr(upload, "size", 0) or 0
    name = str(getattr(upload, "name", "") or "")
    labels = ", ".join(kind.label for kind in allowed)
    if size == 0:
        raise ApplicationError(_("The file “%(name)s” is empty.") % {"name": name}, field="file")
    limit = settings.MAX_UPLOAD_BYTES
    if size > limit:
        raise ApplicationError(
            _("The file “%(name)s” is %(size)s; the limit is %(limit)s.")
            % {"name": name, "size": filesizeformat(size), "limit": filesizeformat(limit)},
            field="file",
        )
    kind = sniff(upload)  # type: ignore[arg-type]
    if kind is None or kind not in allowed:
        raise ApplicationError(
            _("“%(name)s” is not an accepted document. Accepted formats: %(formats)s.")
            % {"name": name, "formats": labels},
            field="file",
        )
    if PurePath(name).suffix.lower() not in kind.extensions:
        raise ApplicationError(
            _(
                "“%(name)s” contains a %(kind)s document but its name says otherwise. Rename it and try again."
            )
            % {"name": name, "kind": kind.label},
            field="file",
        )
    return kind
