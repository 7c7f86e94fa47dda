"""factory_boy factories shared by all tests."""

from __future__ import annotations

import io
from datetime import date

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from PIL import Image

from cpms.core.models import Agreement, BenefitCase, Partner, Person
from cpms.core.services import case_set_officers
from ident_bridge import icd


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"User{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@uscis.example.gov")
    password = factory.PostGenerationMethodCall("set_password", "pw-for-tests-only")

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.add(Group.objects.get_or_create(name=extracted)[0])
        if create:
            self.save()


class PartnerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Partner
        django_get_or_create = ("code",)

    code = "CAN"
    name = factory.LazyAttribute(lambda p: {"CAN": "Canada", "AUS": "Australia", "GBR": "United Kingdom", "NZL": "New Zealand"}[p.code])


class AgreementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agreement

    partner = factory.SubFactory(PartnerFactory)
    title = factory.LazyAttribute(lambda a: f"Implementing arrangement with {a.partner.name}")
    status = Agreement.Status.PUBLISHED
    effective_from = date(2015, 1, 1)
    allows_uscis_queries = True
    allows_partner_requests = True
    authorised_data_elements = ["family_name", "given_names", "date_of_birth", "gender", "country_of_birth", "a_number", "fin"]
    authorised_attachment_kinds = ["photograph", "passport"]


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person
        skip_postgeneration_save = True

    fin = factory.Sequence(lambda n: f"FIN{9000000000 + n}")
    a_number = factory.Sequence(lambda n: f"A{300000000 + n:09d}")
    family_name = "Haddad"
    given_names = "Amal"
    dob_year = 1985
    dob_month = 4
    dob_day = 12
    country_of_birth = "SYR"
    citizenships = ["SYR"]
    gender = "female"

    @factory.post_generation
    def cis(self, create, extracted, **kwargs):
        """CIS knows everyone USCIS holds: a complete record with no protected class, unless `cis=False` (a person CIS
        has no record of) or cis_record() gives the person classes."""
        if create and extracted is not False and self.a_number:
            from cpms.cis.models import CisRecord

            CisRecord.objects.get_or_create(a_number=self.a_number, defaults={"complete": True})


class CaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BenefitCase
        skip_postgeneration_save = True

    receipt_number = factory.Sequence(lambda n: f"ZAR{2600000000 + n}")
    kind = "asylum"
    person = factory.SubFactory(PersonFactory)

    @factory.post_generation
    def officers(self, create, extracted, **kwargs):
        if create:
            # As the workflow does: the assignment and the officers' object grants together.
            case_set_officers(actor=None, case=self, officers=extracted or [])


def png_bytes(color=(120, 140, 160), size=(8, 8)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="PNG")
    return buf.getvalue()


def pdf_bytes() -> bytes:
    """A real one-page PDF with nothing active in it (ident_bridge.filecheck accepts it)."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def jpeg_bytes(color=(200, 180, 160), size=(8, 8)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="JPEG")
    return buf.getvalue()


def result_message(query, *, outcome="match", partner_person_id="12345678", biographic=None) -> dict:
    body = {"query_ref": query.query_ref, "outcome": outcome}
    if outcome == "match":
        body |= {
            "partner_person_id": partner_person_id,
            "biographic": biographic or {"family_name": "Haddad", "given_names": "Amal", "date_of_birth": "1985-04-12",
                                         "gender": "female", "country_of_birth": "SYR"},
            "second_query_sent": True,
        }
    return icd.envelope("query.result", query.partner_id, body)


def response_message(query, *, round_number=2, person=None, attachments=None) -> dict:
    if attachments is None:
        attachments = [
            icd.attachment(filename="photo.png", media_type="image/png", kind="photograph", data=png_bytes()),
            icd.attachment(filename="passport.jpg", media_type="image/jpeg", kind="passport", data=jpeg_bytes()),
        ]
    return icd.envelope("query.response", query.partner_id, {
        "query_ref": query.query_ref,
        "round": round_number,
        "responder": {"name": "IRCC analyst", "organization": "IRCC"},
        "responded_at": "2026-11-25T14:00:00Z",
        "person": person or {"family_name": "Haddad", "given_names": "Amal", "date_of_birth": "1985-04-12",
                             "partner_person_id": "12345678", "immigration_status": {"status": "Protected person"}},
        "attachments": attachments,
    })


def store_inbound(message: dict):
    """An InboundMessage row as inbound.receive() would have stored it."""
    import uuid

    from ident_bridge.models import InboundMessage

    raw = icd.canonical_bytes(message)
    return InboundMessage.objects.create(
        message_id=uuid.UUID(message["message_id"]), type=message["type"], partner=message["partner"],
        body_sha256=icd.sha256_hex(raw), raw=raw, ref=message["body"].get("query_ref", ""),
    )


def request_message(*, partner="CAN", fin="FIN1000000001", request_ref=None, template="uniform-v1", subject=None,
                    reason="refugee_claimant", priority="high", requested_items=None) -> dict:
    import secrets

    return icd.envelope("request.received", partner, {
        "request_ref": request_ref or f"{partner}-REQ-{secrets.token_hex(4).upper()}",
        "template": template,
        "requestor": {"name": "J. Citizen", "organization": "Partner agency", "email": "j.citizen@example.gov"},
        "requested_at": "2026-11-25T14:00:00Z",
        "reason": reason,
        "priority": priority,
        "fin": fin,
        "encounter_id": f"{partner}-FP-778812",
        "subject": subject or {"family_name": "Haddad", "given_names": "Amal", "date_of_birth": "1985-04-12",
                               "gender": "female", "country_of_birth": "SYR", "partner_person_id": "12345678"},
        "requested_items": requested_items or ["biographic", "immigration_status", "document_images"],
    })


def cis_record(person, *classes, complete=True):
    """A local CIS index entry: classes as ProtectedClass values or dicts of CisClassEntry fields (replaces the plain
    record PersonFactory gives everyone)."""
    from cpms.cis.models import CisClassEntry, CisRecord

    CisRecord.objects.filter(a_number=person.a_number).delete()
    record = CisRecord.objects.create(a_number=person.a_number, complete=complete)
    for c in classes:
        CisClassEntry.objects.create(record=record, **({"protected_class": c} if isinstance(c, str) else c))
    return record
