"""Partners and agreements from the PIA's Appendix A (DHS/USCIS/PIA-060(a), July 2017).

At the PIA's date only Canada and Australia exchange with USCIS (queries and requests). The United Kingdom's
2013 agreement is recorded but not opened to CPMS exchanges, and New Zealand has no agreement: both are
offered to no one until an administrator records an agreement that allows it ("once agreements allow").
"""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.utils import timezone

from .models import Agreement, Partner

PARTNERS = {"CAN": "Canada", "AUS": "Australia", "GBR": "United Kingdom", "NZL": "New Zealand"}

# ICD §6 elements a USCIS response may carry, per the PIA's "The response may include" list.
_RESPONSE_ELEMENTS = [
    "family_name", "given_names", "aliases", "date_of_birth", "gender", "race", "country_of_birth",
    "countries_of_citizenship", "a_number", "fin", "partner_person_id", "immigration_status", "watchlist_status",
]
_ATTACHMENT_KINDS = ["photograph", "passport", "visa", "marriage_certificate", "identity_document"]
FCC_ASYLUM_AUTHORISATION = (
    "Disclosure of Asylum-Related Information to the Foreign Government Participants on the Five Country Conference "
    "(Secretary Napolitano, March 5, 2010; renewed 2016) — 8 CFR 208.6"
)

AGREEMENTS = [
    # (partner, Appendix A item, title, signed, effective_from, operative for CPMS exchanges)
    ("AUS", "1", "High Value Data Sharing Protocol Memorandum of Understanding between the Australian Department of "
     "Immigration and Citizenship (DIAC), the U.S. Department of Homeland Security (DHS) and the U.S. Department of State (DoS)",
     None, date(2009, 1, 1), False),
    ("AUS", "2", "Letter of Agreement to amend the High Value Data Sharing Protocol Memorandum of Understanding (DIAC, DHS, DoS)",
     None, date(2010, 1, 1), False),
    ("AUS", "3", "Agreement between the United States of America and the Government of Australia for the Sharing of Visa "
     "and Immigration Information, signed at Canberra", date(2014, 8, 27), date(2014, 8, 27), False),
    ("AUS", "4", "Implementing Arrangement between the Department of Immigration and Border Protection of Australia and DHS, "
     "signed at London", date(2015, 9, 9), date(2015, 9, 9), True),
    ("CAN", "9", "Agreement between the Government of Canada and the Government of the United States of America for the "
     "Sharing of Visa and Immigration Information", date(2012, 12, 13), date(2012, 12, 13), False),
    ("CAN", "7", "Annex to the 2003 Statement of Mutual Understanding on Information Sharing regarding the Sharing of "
     "Information under the Five Country Conference High Value Data Sharing Protocol (CIC)", None, date(2003, 1, 1), False),
    ("CAN", "6", "Implementing Arrangement between DoS and DHS and the Department of Citizenship and Immigration of Canada "
     "and the Canada Border Services Agency concerning Biometric Visa and Immigration Information Sharing",
     date(2015, 5, 1), date(2015, 5, 1), True),
    ("GBR", "10", "Agreement between the Government of the United Kingdom of Great Britain and Northern Ireland and the "
     "Government of the United States of America for the Sharing of Visa, Immigration, and Nationality Information",
     date(2013, 4, 18), date(2013, 4, 18), False),
]


@transaction.atomic
def load_reference_data() -> None:
    """Idempotent: creates what is missing, leaves administrators' later edits alone."""
    for code, name in PARTNERS.items():
        Partner.objects.get_or_create(code=code, defaults={"name": name})
    for code, item, title, signed, start, operative in AGREEMENTS:
        Agreement.objects.get_or_create(
            partner_id=code,
            appendix_a_ref=item,
            version=1,
            defaults={
                "status": Agreement.Status.PUBLISHED,
                "published_at": timezone.now(),
                # The United Kingdom's 2013 agreement is recorded as it stands in Appendix A, not in force for CPMS.
                "is_active": operative or code != "GBR",
                "title": title,
                "signed_on": signed,
                "effective_from": start,
                "allows_uscis_queries": operative,
                "allows_partner_requests": operative,
                "authorised_data_elements": _RESPONSE_ELEMENTS if operative else [],
                "authorised_attachment_kinds": _ATTACHMENT_KINDS if operative else [],
                "asylum_disclosure_authorised": operative,
                "legal_authority": (title + "; " + FCC_ASYLUM_AUTHORISATION) if operative else title,
            },
        )
