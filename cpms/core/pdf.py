"""HTML to PDF, the one way every CPMS print is made (the A-File print, the privacy officer's reports).

- Tagged PDF/UA-1 (Section 508): a screen reader reads headings, tables and the order of the text.
- The fetcher accepts data: URIs only: everything the PDF shows is inside the HTML (photographs embedded by the
  caller), so rendering never reaches the network or the file system.
- Fonts: the print templates name Noto Sans, Noto Sans Arabic, Noto Sans CJK and DejaVu Sans, which
  scripts/ensure_system_packages.sh installs, so names in any script print as glyphs.
"""

from __future__ import annotations


def html_to_pdf(html: str) -> bytes:
    # Imported here: WeasyPrint parses its stylesheets on import, a cost only a print pays.
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    return HTML(string=html, base_url=None, url_fetcher=URLFetcher(allowed_protocols={"data"})).write_pdf(
        pdf_variant="pdf/ua-1")


def warm_up() -> None:
    """Import WeasyPrint and render a line, so that fontconfig and Pango have loaded the fonts: the first print of a
    process paid 2-3 s for this (issue 18, finding 13; bench/steps.py). cpms/wsgi.py runs it in the background as a web
    process starts; a failure here is only logged (the print itself then reports it)."""
    import logging

    try:
        html_to_pdf('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>CPMS</title></head>'
                    '<body style="font-family: \'Noto Sans\', sans-serif"><p>CPMS</p></body></html>')
    except Exception:  # noqa: BLE001 - a warm-up never stops a web process
        logging.getLogger(__name__).exception("warming up the PDF renderer failed")

