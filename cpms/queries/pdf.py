"""The A-File print of a query: templates/queries/print.html rendered to PDF by WeasyPrint.

Everything the PDF shows is inside the HTML: photographs are embedded as data: URIs read from our storage,
and the fetcher accepts data: URIs only, so rendering never reaches the network or the file system.
"""

from __future__ import annotations

import base64

from django.template.loader import render_to_string
from django.utils import timezone

from cpms.core.pdf import html_to_pdf

from .ui_selectors import QueryView


def _data_uri(attachment) -> str:
    with attachment.file.open("rb") as fh:
        return f"data:{attachment.media_type};base64,{base64.b64encode(fh.read()).decode('ascii')}"


def render_query_html(view: QueryView, *, printed_by) -> str:
    rounds = [(rv, [(att, _data_uri(att)) for att in rv.images]) for rv in view.rounds]
    return render_to_string("queries/print.html", {
        "view": view, "rounds": rounds, "printed_by": printed_by, "printed_at": timezone.now(),
    })


def render_query_pdf(view: QueryView, *, printed_by) -> bytes:
    return html_to_pdf(render_query_html(view, printed_by=printed_by))
