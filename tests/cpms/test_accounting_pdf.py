"""The accounting of disclosures as a PDF over several pages (issue 18, finding 12): CUI on every page, the column
headings on every page, and no row split across two pages (its cells would land on both, shifted). Pages 1 and 2 are
saved under var/screenshots/pdf/ to look at. Personas: the privacy officer (owner) prints it; an officer gets 404."""

from pathlib import Path

import pypdfium2 as pdfium
import pytest
from django.test import Client
from django.urls import reverse

from cpms.disclosure.models import DisclosureRecord
from cpms.queries import services as query_services
from tests.factories import AgreementFactory, CaseFactory, PersonFactory, UserFactory

ROWS = 45  # three pages or more
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots" / "pdf"


def browser(user) -> Client:
    client = Client()
    client.post(reverse("system-use"))
    client.force_login(user)
    return client


@pytest.fixture
def world(db):
    AgreementFactory(partner__code="CAN")
    officer, privacy = UserFactory(role="officer"), UserFactory(role="privacy_officer")
    person = PersonFactory()
    case = CaseFactory(officers=[officer], person=person)
    for _ in range(ROWS):
        query_services.query_submit(actor=officer, case=case, partner_code="CAN", reason="asylum_claimant", priority="high")
    # Tall rows, as a long purpose makes them: a page break then falls inside a row unless the print prevents it.
    DisclosureRecord.objects.filter(person=person).update(purpose="To decide the asylum claim of the person. " * 6,
                                                                   nature="The person's fingerprints, through IDENT, by FIN. " * 5)
    return {"officer": officer, "privacy": privacy, "person": person}


@pytest.fixture
def printed(world):
    resp = browser(world["privacy"]).get(reverse("privacy-accounting-pdf", args=[world["person"].pk]))
    assert resp.status_code == 200, resp.status_code
    pdf = pdfium.PdfDocument(resp.content)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)  # pages 1 and 2 to look at
    for i in (0, 1):
        pdf[i].render(scale=1.5).to_pil().save(SCREENSHOTS / f"accounting-page-{i + 1}.png")
    # Squashed: a cell's text wraps over lines (a reference broken at its hyphen reads U+FFFE), so compare without
    # whitespace.
    pages = ["".join(pdf[i].get_textpage().get_text_range().replace("\ufffe", "-").split()) for i in range(len(pdf))]
    refs = list(DisclosureRecord.objects.filter(person=world["person"]).values_list("reference", flat=True))
    return {"pages": pages, "refs": refs}


def test_over_several_pages_each_is_marked_cui_with_the_headings_and_whole_rows(printed):
    assert len(printed["refs"]) == ROWS and len(printed["pages"]) >= 3
    for number, text in enumerate(printed["pages"], 1):
        assert text.count("CUI") >= 2, f"page {number} lacks its CUI marking (header and footer)"
        assert "Natureandpurpose" in text and "Agreementandauthority" in text, f"page {number} has no headings"

    # A split row leaves its first cells on one page and the rest on the next: each page holds as many rows' last
    # cells (the agreement) as it holds references.
    for ref in printed["refs"]:
        assert sum(ref in text for text in printed["pages"]) == 1, ref
    for number, text in enumerate(printed["pages"], 1):
        refs = sum(ref in text for ref in printed["refs"])
        assert text.count("Implementingarrangementwith") == refs, f"page {number}: a row is split across pages"


def test_an_officer_gets_404(world):
    assert browser(world["officer"]).get(reverse("privacy-accounting-pdf", args=[world["person"].pk])).status_code == 404
