"""Generated attachments: a photograph placeholder (PNG) and a passport or visa data page (JPEG).

The images are drawn from the gallery person alone, with Pillow's bundled font (never a font of the
host), so the same person always yields the same bytes and the same sha256: tests and demos can compare
attachments across runs and across a simulator restart. Each image stays well under 100 KB.
"""

from __future__ import annotations

import hashlib
import io
import unicodedata
from functools import lru_cache
from typing import Literal

from PIL import Image, ImageDraw, ImageFont

from .galleries import GalleryPerson

DocumentKind = Literal["passport", "visa"]

PHOTO_SIZE = (240, 300)
DOCUMENT_SIZE = (640, 420)
_MRZ_WIDTH = 44  # ICAO 9303 TD3: two lines of 44 characters
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


@lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _seed(person: GalleryPerson) -> bytes:
    return hashlib.sha256(f"{person.partner}:{person.partner_person_id}".encode("ascii")).digest()


def _latin(text: str) -> str:
    """Strip diacritics (Nguyễn → Nguyen); document names are Latin already, this only folds accents."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _display_name(person: GalleryPerson) -> str:
    family, given = person.document_name
    return f"{family.upper()}, {given}" if given else family.upper()


def _draw_silhouette(size: tuple[int, int], person: GalleryPerson) -> Image.Image:
    seed = _seed(person)
    width, height = size
    background = (200 + seed[0] % 40, 205 + seed[1] % 40, 210 + seed[2] % 40)
    figure = (70 + seed[3] % 40, 75 + seed[4] % 40, 90 + seed[5] % 40)
    image = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(image)
    draw.ellipse((width * 0.12, height * 0.6, width * 0.88, height * 1.3), fill=figure)  # shoulders
    draw.ellipse((width * 0.32, height * 0.18, width * 0.68, height * 0.56), fill=figure)  # head
    return image


@lru_cache(maxsize=64)
def photograph_png(person: GalleryPerson) -> bytes:
    """A 240×300 passport-style photograph placeholder: a silhouette and the person's name."""
    image = _draw_silhouette(PHOTO_SIZE, person)
    draw = ImageDraw.Draw(image)
    width, height = PHOTO_SIZE
    draw.rectangle((0, height - 36, width, height), fill=(250, 250, 250))
    draw.text((width / 2, height - 18), _latin(_display_name(person)), font=_font(14), fill=(20, 20, 20), anchor="mm")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _mrz_text(text: str) -> str:
    """ICAO 9303 field text: A-Z and 0-9 only, anything else becomes the filler '<'."""
    folded = _latin(text).upper()
    return "".join(c if ("A" <= c <= "Z" or "0" <= c <= "9") else "<" for c in folded)


def _pad(text: str, width: int) -> str:
    return text[:width].ljust(width, "<")


def _check_digit(field: str) -> str:
    """ICAO 9303 check digit: weights 7, 3, 1; letters count 10-35, the filler counts 0."""
    total = 0
    for index, char in enumerate(field):
        value = int(char) if char.isdigit() else (ord(char) - 55 if "A" <= char <= "Z" else 0)
        total += value * (7, 3, 1)[index % 3]
    return str(total % 10)


def _mrz_date(date: str) -> str:
    """YYMMDD; the unknown parts of a partial date are fillers, as ICAO 9303 prescribes."""
    parts = date.split("-")
    return parts[0][2:] + (parts[1] if len(parts) > 1 else "<<") + (parts[2] if len(parts) > 2 else "<<")


def _printed_date(date: str) -> str:
    parts = date.split("-")
    if len(parts) == 3:
        return f"{parts[2]} {_MONTHS[int(parts[1]) - 1]} {parts[0]}"
    if len(parts) == 2:
        return f"{_MONTHS[int(parts[1]) - 1]} {parts[0]}"
    return parts[0]


def _document_number(person: GalleryPerson, kind: DocumentKind) -> str:
    digits = int.from_bytes(hashlib.sha256(f"{kind}:{person.partner}:{person.partner_person_id}".encode()).digest()[:8])
    return f"{'P' if kind == 'passport' else 'V'}{digits % 10**8:08d}"


def _expiry(person: GalleryPerson) -> str:
    seed = _seed(person)
    return f"{2029 + seed[6] % 5}-{1 + seed[7] % 12:02d}-{1 + seed[8] % 28:02d}"


def mrz_lines(person: GalleryPerson, *, kind: DocumentKind, issuer: str) -> tuple[str, str]:
    """The two machine-readable lines of a TD3-sized passport (P) or visa (V) data page."""
    family, given = person.document_name
    nationality = (person.countries_of_citizenship or (person.country_of_birth,))[0]
    names = _mrz_text(family) + "<<" + _mrz_text(given).replace(" ", "<")
    line1 = _pad(("P" if kind == "passport" else "V") + "<" + issuer + names, _MRZ_WIDTH)
    number = _pad(_mrz_text(_document_number(person, kind)), 9)
    birth = _mrz_date(person.date_of_birth)
    sex = {"female": "F", "male": "M"}.get(person.gender, "<")
    expiry = _mrz_date(_expiry(person))
    personal = _pad("", 14)
    document = number + _check_digit(number)
    birth_field = birth + _check_digit(birth)
    expiry_field = expiry + _check_digit(expiry)
    personal_field = personal + _check_digit(personal)
    composite = _check_digit(document + birth_field + expiry_field + personal_field)
    return line1, document + nationality + birth_field + sex + expiry_field + personal_field + composite


@lru_cache(maxsize=64)
def document_jpeg(person: GalleryPerson, *, kind: DocumentKind, issuer: str) -> bytes:
    """A passport or visa data page: header, photograph, printed fields and the MRZ.

    `issuer` is the country that issued the document: the person's nationality for a passport, the
    partner for a visa.
    """
    seed = _seed(person)
    width, height = DOCUMENT_SIZE
    paper = (226, 236, 232) if kind == "passport" else (240, 228, 232)
    image = Image.new("RGB", DOCUMENT_SIZE, paper)
    draw = ImageDraw.Draw(image)
    ink = (40, 60, 80)
    for offset in range(0, height, 14):  # security-print guilloche: faint parallel curves
        shift = seed[offset % 32] % 9
        draw.arc((-width // 2, offset - 60 + shift, width * 3 // 2, offset + 60 + shift), 200, 340, fill=(205, 215, 212))
    title = "PASSPORT / PASSEPORT" if kind == "passport" else "VISA"
    draw.text((24, 18), f"{title}   {issuer}", font=_font(22), fill=ink)
    photo = _draw_silhouette((150, 188), person)
    image.paste(photo, (24, 64))
    family, given = person.document_name
    nationality = (person.countries_of_citizenship or (person.country_of_birth,))[0]
    fields = (
        ("Surname", _latin(family).upper()),
        ("Given names", _latin(given).upper()),
        ("Nationality", nationality),
        ("Date of birth", _printed_date(person.date_of_birth)),
        ("Sex", {"female": "F", "male": "M", "x": "X"}.get(person.gender, "<")),
        ("Place of birth", person.country_of_birth),
        ("Document no.", _document_number(person, kind)),
        ("Date of expiry", _printed_date(_expiry(person))),
    )
    for index, (label, value) in enumerate(fields):
        top = 62 + index * 34
        draw.text((200, top), label, font=_font(10), fill=(90, 100, 110))
        draw.text((200, top + 12), value, font=_font(15), fill=ink)
    draw.rectangle((0, height - 78, width, height), fill=(248, 248, 246))
    for row, line in enumerate(mrz_lines(person, kind=kind, issuer=issuer)):
        for column, char in enumerate(line):  # fixed-width cells: the bundled font is proportional
            draw.text((34 + column * 13, height - 66 + row * 30), char, font=_font(18), fill=(10, 10, 10))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()
