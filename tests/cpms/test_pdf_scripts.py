"""Names in every script print as glyphs in the three PDFs: the A-File print (queries/print.html), the privacy officer's
person timeline (privacy/person_print.html) and accounting of disclosures (privacy/accounting_print.html).

Names reach CPMS in Chinese and Japanese, Arabic, Cyrillic and Vietnamese. Without a font that covers a script, WeasyPrint
still writes the text layer, so the name can be copied, but prints it as empty boxes: each test therefore checks the text
layer, the font every character of the name is set in, and that page 1 has ink where the name is. The fonts come from
Debian packages (scripts/ensure_system_packages.sh): a machine without them fails here, it does not skip.

Page 1 of every PDF is saved under var/screenshots/pdf/<pdf>-<script>.png to look at.

Personas: the officer who owns the case prints the A-File; the privacy officer prints the timeline and the accounting
(who else may fetch them, and the 404s, are in test_officer_views, test_person_timeline, test_privacy_console and
test_authorization_matrix).
"""

import subprocess
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from django.test import Client
from django.urls import reverse

from cpms.queries import services as query_services
from tests.factories import AgreementFactory, CaseFactory, PersonFactory, UserFactory

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots" / "pdf"
INSTALL = "run `bash scripts/ensure_system_packages.sh` (make install and make test run it)"

# The font families the PDF stylesheets name, and the Debian package of each.
FONT_PACKAGES = {"Noto Sans": "fonts-noto-core", "Noto Sans Arabic": "fonts-noto-core", "Noto Sans CJK SC": "fonts-noto-cjk"}

# (family name, given names, the embedded font every one of their characters must be set in). Arabic names are one
# word each: a text layer lists the words of a right-to-left run in visual order, so each word is checked on its own.
NAMES = {
    "chinese": ("王", "秀英", "Noto-Sans-CJK"),
    "japanese": ("山田", "さくら", "Noto-Sans-CJK"),
    "arabic": ("حداد", "محمد", "Noto-Sans-Arabic"),
    "cyrillic": ("Петренко", "Олег", "Noto-Sans"),
    "vietnamese": ("Nguyễn", "Thị Minh Khai", "Noto-Sans"),
}
PDFS = ("a-file", "timeline", "accounting")


@pytest.fixture(scope="module", autouse=True)
def fonts_installed():
    try:
        listed = {family: subprocess.run(["fc-list", f":family={family}", "family"], capture_output=True, text=True,
                                         check=True).stdout.strip() for family in FONT_PACKAGES}
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.fail(f"fontconfig's fc-list does not run ({exc}): the PDFs cannot find their fonts; {INSTALL}")
    missing = [f"{family} ({FONT_PACKAGES[family]})" for family, found in listed.items() if not found]
    if missing:
        pytest.fail(f"fonts the PDFs need are not installed: {', '.join(missing)}; {INSTALL}")


@pytest.fixture
def world(db):
    AgreementFactory(partner__code="CAN")
    return {"officer": UserFactory(role="officer"), "privacy": UserFactory(role="privacy_officer")}


def browser(user) -> Client:
    client = Client()
    client.post(reverse("system-use"))
    client.force_login(user)
    return client


def fetch_pdf(world, which: str, family: str, given: str) -> bytes:
    person = PersonFactory(family_name=family, given_names=given)
    case = CaseFactory(officers=[world["officer"]], person=person)
    query = query_services.query_submit(actor=world["officer"], case=case, partner_code="CAN", reason="asylum_claimant",
                                        priority="high")
    if which == "a-file":
        resp = browser(world["officer"]).get(reverse("query-print", args=[query.pk]))
    elif which == "timeline":
        resp = browser(world["privacy"]).get(reverse("privacy-person-pdf", args=[person.pk]))
    else:
        resp = browser(world["privacy"]).get(reverse("privacy-accounting-pdf", args=[person.pk]))
    assert resp.status_code == 200 and resp["Content-Type"] == "application/pdf", resp.status_code
    return resp.content


def occurrence(textpage, word: str) -> list[int]:
    """The character indexes of the first occurrence of `word` on the page, or [] when the text layer lacks it."""
    found = textpage.search(word, match_case=True).get_next()
    return list(range(found[0], found[0] + found[1])) if found else []


def ink_in(image, boxes, page_height: float, scale: float) -> float:
    """The share of dark pixels of the rendered page inside the union of the characters' boxes (PDF points)."""
    left, right = min(b[0] for b in boxes), max(b[2] for b in boxes)
    bottom, top = min(b[1] for b in boxes), max(b[3] for b in boxes)
    crop = image.convert("L").crop((int(left * scale), int((page_height - top) * scale),
                                    int(right * scale) + 1, int((page_height - bottom) * scale) + 1))
    histogram = crop.histogram()
    return sum(histogram[:128]) / max(sum(histogram), 1)


@pytest.mark.parametrize("script", NAMES)
@pytest.mark.parametrize("which", PDFS)
def test_a_name_in_any_script_prints_as_glyphs_in_its_own_font(world, which, script):
    family, given, font = NAMES[script]
    pdf = pdfium.PdfDocument(fetch_pdf(world, which, family, given))
    page = pdf[0]
    textpage = page.get_textpage()
    scale = 2
    image = page.render(scale=scale).to_pil()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    image.save(SCREENSHOTS / f"{which}-{script}.png")
    _, page_height = page.get_size()

    for word in [family, *given.split()]:
        indexes = occurrence(textpage, word)
        assert indexes, f"{which}: the text layer of page 1 lacks {word!r}"
        assert textpage.get_text_range(indexes[0], len(indexes)) == word  # exactly, not normalised
        for i in indexes:
            used = textpage.get_textobj(i).get_font().get_base_name()
            # A subset's name is "ABCDEF+Noto-Sans-CJK-SC"; a font without the glyph prints an empty box instead.
            assert used.split("+")[-1].startswith(font), (
                f"{which}: {textpage.get_text_range(i, 1)!r} of {word!r} is set in {used}, not {font}: "
                f"its font is missing; {INSTALL}")
        ink = ink_in(image, [textpage.get_charbox(i) for i in indexes], page_height, scale)
        assert ink > 0.05, f"{which}: no ink where {word!r} is on page 1 ({ink:.1%} dark)"


@pytest.mark.parametrize("which", PDFS)
def test_every_print_is_a_tagged_pdf(world, which):
    """PDF/UA-1 (Section 508) for every print, not only the A-File: cpms.core.pdf makes them all."""
    import io

    from pypdf import PdfReader

    family, given, _font = NAMES["chinese"]
    catalog = PdfReader(io.BytesIO(fetch_pdf(world, which, family, given))).trailer["/Root"]
    assert catalog["/MarkInfo"]["/Marked"] and "/StructTreeRoot" in catalog
    assert catalog.get("/Lang") == "en"
