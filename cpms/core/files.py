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
