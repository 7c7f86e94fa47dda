"""The port to the other side of the ICD: one signed HTTP POST with timeouts.

CPMS uses it to reach IDENT; the simulator uses it to reach CPMS. It raises BridgeError with
`permanent=True` for a 4xx (final, ICD §1: record as rejected, tell a person) and `permanent=False` for
anything worth retrying (5xx, timeout, refused connection).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import requests

from . import icd


class BridgeError(Exception):
    def __init__(self, detail: str, *, permanent: bool, status: int | None = None, problem: dict | None = None):
        super().__init__(detail)
        self.detail = detail
        self.permanent = permanent
        self.status = status
        self.problem = problem


@dataclass(frozen=True)
class Delivery:
    status: int  # 202 accepted, or 200 for an identical duplicate the receiver already had
    body: dict


class Transport:
    def __init__(self, base_url: str, secret: str, *, timeout: float = 10.0, session: requests.Session | None = None):
        self.url = base_url.rstrip("/") + "/messages"
        self.secret = secret
        self.timeout = timeout
        self.session = session or requests.Session()

    def post(self, raw_body: bytes) -> Delivery:
        """Send one message's exact bytes with a fresh timestamp and signature."""
        headers = icd.signed_headers(raw_body, self.secret)
        try:
            resp = self.session.post(self.url, data=raw_body, headers=headers, timeout=self.timeout)
        except requests.Timeout as exc:
            raise BridgeError(f"no answer from {self.url} within {self.timeout} s", permanent=False) from exc
        except requests.ConnectionError as exc:
            raise BridgeError(f"cannot connect to {self.url}: {exc.__class__.__name__}", permanent=False) from exc
        except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema) as exc:
            # A configuration error: retrying cannot help; a person must fix IDENT_URL.
            raise BridgeError(f"IDENT_URL is not a usable URL ({self.url}): {exc}", permanent=True) from exc
        except requests.RequestException as exc:  # e.g. the connection dropped mid-answer: worth retrying
            raise BridgeError(f"{exc.__class__.__name__} talking to {self.url}", permanent=False) from exc
        try:
            body = resp.json()
        except (ValueError, json.JSONDecodeError):
            body = {}
        if resp.status_code in (200, 202):
            return Delivery(resp.status_code, body if isinstance(body, dict) else {})
        detail = (body.get("detail") if isinstance(body, dict) else None) or resp.reason or "error"
        if 400 <= resp.status_code < 500:
            return_problem = body if isinstance(body, dict) else None
            raise BridgeError(f"{resp.status_code}: {detail}", permanent=True, status=resp.status_code, problem=return_problem)
        raise BridgeError(f"{resp.status_code}: {detail}", permanent=False, status=resp.status_code)
