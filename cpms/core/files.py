"""Content-addressed file storage for partners' files and analysts' scans: one file per content, written once."""

from __future__ import annotations

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage


def store_content_addressed(name: str, data: bytes) -> str:
    """Write bytes under a name derived from their sha256, once: a retried task reuses the file, never copies it."""
    if not default_storage.exists(name):
        saved = default_storage.save(name, ContentFile(data))
        if saved != name:  # a concurrent writer stored the same bytes first: keep theirs, drop our copy
            default_storage.delete(saved)
    return name


# A file shown or downloaded from CPMS can run nothing in CPMS's origin: the response is sandboxed (no script, no
# same-origin access, no plugins) whatever the browser makes of the bytes.
FILE_CSP = "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'"


def file_response(stored, *, media_type: str, filename: str, inline: bool = False):
    """Serve a stored file: as a download (Content-Disposition: attachment) unless `inline` (only for images CPMS
    re-encoded itself), with nosniff, no caching and the sandbox CSP."""
    from django.http import FileResponse

    response = FileResponse(stored.open("rb"), content_type=media_type, as_attachment=not inline, filename=filename)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = FILE_CSP
    return response
