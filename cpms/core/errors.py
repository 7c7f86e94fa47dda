"""The one base of every domain refusal: a message a person can act on, the form field it concerns, and a code.

Services raise these; pages show `message` (next to `field` when there is one) and the API answers an RFC 9457
problem document whose status comes from `code` (cpms.core.problems). A refusal never leaves a partial write: the
service raises before it writes, or inside the transaction that it then rolls back.
"""

from __future__ import annotations

# code -> HTTP status on the API. Anything else is 422: the request was well formed (its serializer, which says no more
# and no less than the OpenAPI schema, accepted it) but a rule the schema cannot state refuses it (the analyst named is
# not one, the person's data are not in the ICD's form, the file is not an image). 400 is kept for requests that break
# the schema, so a client (and schemathesis) can tell "fix the request's shape" from "this cannot be done as asked".
STATUS_BY_CODE = {
    "forbidden": 403,
    "wrong_state": 409,  # someone (or a double click) got there first, or the object has moved on: reload
    "round_limit": 409,
    "duplicate": 409,
    "no_agreement": 409,
    "floor": 409,
    "idempotency_mismatch": 422,
    "exceeds_agreement": 422,
    "not_permitted": 403,  # the disclosure rules forbid the message: nothing was sent
}


class DomainError(Exception):
    def __init__(self, message: str, *, field: str | None = None, code: str = "invalid", fields: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code
        self.fields = fields or []

    @property
    def http_status(self) -> int:
        return STATUS_BY_CODE.get(self.code, 422)
