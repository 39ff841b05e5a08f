"""Serving stored documents: always through a view that has checked permission, always as
a download, never sniffed by the browser."""

from __future__ import annotations

from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404


def protected_file_response(file: FieldFile, *, filename: str, content_type: str) -> FileResponse:
    """The stored file as an attachment. The caller has decided the user may see it."""
    try:
        handle = file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(
        handle, as_attachment=True, filename=filename, content_type=content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
