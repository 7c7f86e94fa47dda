"""Help: a page per role. What each status means (each app registers the words for the statuses it owns, from its
AppConfig.ready, as the home page's sections are registered), a glossary of the names people meet, and whom to ask."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .roles import Role, has_role


@dataclass(frozen=True)
class HelpSection:
    title: str
    intro: str = ""
    terms: list[tuple[str, str]] = field(default_factory=list)  # (what a person sees, what it means)


@dataclass(frozen=True)
class _Provider:
    order: int
    roles: tuple[str, ...]
    build: Callable[[], HelpSection]


_providers: list[_Provider] = []


def register(*roles: str, order: int = 50):
    """Register a help section for these roles (the decorated function builds it)."""

    def wrap(build: Callable[[], HelpSection]):
        if not any(p.build is build for p in _providers):
            _providers.append(_Provider(order, roles, build))
        return build

    return wrap


def sections_for(user) -> list[HelpSection]:
    return [p.build() for p in sorted(_providers, key=lambda p: p.order) if has_role(user, *p.roles)]


GLOSSARY = [
    ("IDENT", "The DHS biometric system (run by OBIM) that stands between USCIS and the foreign partners: every query, "
              "answer and request goes through it, never by e-mail."),
    ("Partner", "A foreign government USCIS shares biometric information with under a written agreement: Canada and "
                "Australia today; the United Kingdom and New Zealand once their agreements allow it."),
    ("Agreement", "The arrangement with a partner that says which data elements and documents may be shared, and "
                  "under what authority. Every disclosure records the version in force when it left."),
    ("FIN", "Fingerprint Identification Number: IDENT's number for a set of fingerprints. A query needs one."),
    ("A-Number", "The person's USCIS Alien Registration Number: A followed by nine digits."),
    ("CIS and PCQS", "CIS holds USCIS's record of a person's immigration status; CPMS asks it through PCQS whether the "
                     "person holds a protected status before anything about them is shared."),
    ("Protected status", "Trafficking and crime victims on T and U visas and VAWA self-petitioners (8 U.S.C. 1367), "
                         "asylum applicants, asylees and refugees (8 CFR 208.6): information about these people is not "
                         "shared, or only as the law and the agreement allow."),
    ("ICTS", "The International Case Tracking System inside CPMS, where analysts prepare a response to a partner's "
             "request and reviewers approve it."),
    ("OBIM", "The Office of Biometric Identity Management, which runs IDENT; its analysts can retrieve the responses "
             "USCIS sent."),
    ("FDNS", "USCIS Fraud Detection and National Security: an officer may refer a query's results to one of its "
             "analysts for a limited time."),
    ("Accounting of disclosures", "The Privacy Act record (5 U.S.C. 552a(c)) of every disclosure of a person's record: "
                                  "what went to which partner, when, why and under which agreement."),
    ("Round", "One question to a partner and its answer. Round 1 asks whether the fingerprints match; after a match IDENT "
              "sends round 2 by itself; the officer may ask a round 3. There are never more than three."),
]

WHOM_TO_ASK = {
    Role.OFFICER: "Your supervisory officer, for your cases; the privacy office, for a query held or not permitted.",
    Role.SUPERVISOR: "The privacy office, for a held query; an administrator, for accounts and a message that failed.",
    Role.ICTS_ANALYST: "An ICTS reviewer, for assignments and returned responses; the privacy office, for a request "
                       "referred to it.",
    Role.ICTS_REVIEWER: "The privacy office, for a referred or stopped request; an administrator, for a message that failed.",
    Role.OBIM_ANALYST: "The ICTS reviewers, for what a response contains.",
    Role.FDNS_ANALYST: "The officer who referred the results to you.",
    Role.PRIVACY_OFFICER: "The USCIS Privacy Office's counsel, for a legal question; an administrator, for the audit "
                          "chain or the rules' publication.",
    Role.ADMIN: "The CPMS development team, for anything the administration pages do not explain.",
}


def whom_to_ask(user) -> list[str]:
    return [text for role, text in WHOM_TO_ASK.items() if has_role(user, role)]
