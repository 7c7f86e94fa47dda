"""seed_demo is idempotent, and docs/demo-data.md's table of outcomes is what CPMS actually decides."""

import pytest
from django.core.management import call_command

from cpms.cis.pcqs import LocalCisIndex
from cpms.core.models import BenefitCase, Person
from cpms.disclosure.rules import Outcome
from cpms.partner_requests.models import PartnerRequest
from cpms.partner_requests.services import decide

# FIN → expected intake outcome for (CAN, AUS); docs/demo-data.md shows the same table.
EXPECTED = {
    "FIN1000000001": (Outcome.SHARE, Outcome.SHARE),
    "FIN1000000002": (Outcome.SHARE, Outcome.SHARE),
    "FIN1000000003": (Outcome.WITHHOLD, Outcome.WITHHOLD),
    "FIN1000000004": (Outcome.WITHHOLD, Outcome.WITHHOLD),
    "FIN1000000005": (Outcome.WITHHOLD, Outcome.WITHHOLD),
    "FIN1000000006": (Outcome.WITHHOLD, Outcome.WITHHOLD),
    "FIN1000000007": (Outcome.SHARE, Outcome.WITHHOLD),
    "FIN1000000008": (Outcome.NO_DECISION, Outcome.NO_DECISION),
    "FIN1000000009": (Outcome.SHARE, Outcome.SHARE),
    "FIN9999999999": (Outcome.WITHHOLD, Outcome.WITHHOLD),
}


@pytest.fixture
def seeded(db):
    call_command("seed_demo")
    call_command("seed_demo")


def test_seed_demo_is_idempotent(seeded):
    assert BenefitCase.objects.count() == 7
    assert Person.objects.filter(fin__isnull=False).count() == 9


@pytest.mark.parametrize("fin", sorted(EXPECTED))
@pytest.mark.parametrize("partner", ["CAN", "AUS"])
def test_demo_fins_decide_as_documented(seeded, fin, partner):
    person = Person.objects.filter(fin=fin).first()
    req = PartnerRequest(partner_id=partner, fin=fin, person=person, request_ref="DOC")
    answer = LocalCisIndex().lookup(person.a_number) if person else None
    ev, _ = decide(req, answer)
    assert ev.outcome == EXPECTED[fin][0 if partner == "CAN" else 1], ev.reasons


def test_docs_list_every_demo_fin():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "demo-data.md").read_text()
    assert all(fin in text for fin in EXPECTED)
