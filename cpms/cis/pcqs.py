"""The PCQS port: "does this person hold a protected status/class in CIS?" (PIA: CPMS checks CIS via PCQS).

Two implementations: the local CIS index (default, demo, tests) and an HTTP client for a real PCQS at
`PCQS_URL`. Both answer the same CisAnswer or raise PcqsUnavailable; an answer can say it is incomplete.
Callers must treat "unavailable" and "incomplete" as "no decision", never as "nothing protected".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import requests
from django.conf import settings

from .classes import ApplicationStatus, ProtectedClass


class PcqsUnavailable(Exception):
    """PCQS or CIS did not answer (timeout, refused, 5xx, malformed answer)."""


@dataclass(frozen=True)
class ClassHolding:
    protected_class: str
    application_status: str = ApplicationStatus.GRANTED
    appeals_exhausted: bool = False
    consent_partners: tuple[str, ...] = ()
    feared_countries: tuple[str, ...] = ()


@dataclass(frozen=True)
class CisAnswer:
    a_number: str
    known: bool
    complete: bool
    classes: tuple[ClassHolding, ...] = field(default_factory=tuple)

    def as_evidence(self) -> dict:
        return asdict(self)


class LocalCisIndex:
    """The CIS index kept in CPMS's own tables (cpms.cis.models)."""

    def lookup(self, a_number: str) -> CisAnswer:
        from .models import CisRecord

        record = CisRecord.objects.filter(a_number=a_number).prefetch_related("classes").first()
        if record is None:
            return CisAnswer(a_number=a_number, known=False, complete=False)
        return CisAnswer(
            a_number=a_number,
            known=True,
            complete=record.complete,
            classes=tuple(
                ClassHolding(
                    protected_class=e.protected_class,
                    application_status=e.application_status,
                    appeals_exhausted=e.appeals_exhausted,
                    consent_partners=tuple(e.consent_partners or ()),
                    feared_countries=tuple(e.feared_countries or ()),
                )
                for e in record.classes.all()
            ),
        )


class HttpPcqsClient:
    """A real PCQS: `GET {PCQS_URL}/persons/{a_number}/protected-classes` answering
    `{"a_number": ..., "complete": bool, "classes": [{"protected_class", "application_status", "appeals_exhausted",
    "consent_partners", "feared_countries"}]}`; 404 means CIS does not know the A-Number."""

    def __init__(self, base_url: str, *, timeout: float = 5.0, token: str = "", session: requests.Session | None = None):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.token = token
        self.session = session or requests.Session()

    def lookup(self, a_number: str) -> CisAnswer:
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            resp = self.session.get(f"{self.base_url}/persons/{a_number}/protected-classes", headers=headers, timeout=self.timeout)
        except requests.RequestException as exc:
            raise PcqsUnavailable(f"PCQS did not answer: {exc.__class__.__name__}") from exc
        if resp.status_code == 404:
            return CisAnswer(a_number=a_number, known=False, complete=False)
        if resp.status_code != 200:
            raise PcqsUnavailable(f"PCQS answered {resp.status_code}")
        try:
            data = resp.json()
            known_classes = set(ProtectedClass.values)
            classes = []
            complete = bool(data["complete"])
            for c in data["classes"]:
                if c["protected_class"] not in known_classes:
                    complete = False  # a class we cannot interpret: the answer is incomplete for us
                    continue
                classes.append(ClassHolding(
                    protected_class=c["protected_class"],
                    application_status=c.get("application_status", ApplicationStatus.GRANTED),
                    appeals_exhausted=bool(c.get("appeals_exhausted", False)),
                    consent_partners=tuple(c.get("consent_partners") or ()),
                    feared_countries=tuple(c.get("feared_countries") or ()),
                ))
        except (ValueError, KeyError, TypeError) as exc:
            raise PcqsUnavailable(f"PCQS answer could not be read: {exc}") from exc
        return CisAnswer(a_number=a_number, known=True, complete=complete, classes=tuple(classes))


def get_pcqs():
    """The configured implementation: a real PCQS when PCQS_URL is set, else the local CIS index."""
    if settings.PCQS_URL:
        return HttpPcqsClient(settings.PCQS_URL, timeout=settings.PCQS_TIMEOUT_SECONDS, token=settings.PCQS_TOKEN)
    return LocalCisIndex()
