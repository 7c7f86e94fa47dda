"""Test doubles at the lowest layer only: the HTTP transport to IDENT."""

from ident_bridge.transport import Delivery


class FakeTransport:
    """Records the bytes it was given and answers from a script (default: 202 accepted)."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.sent: list[bytes] = []

    def post(self, raw):
        self.sent.append(raw)
        answer = self.answers.pop(0) if self.answers else Delivery(202, {})
        if isinstance(answer, Exception):
            raise answer
        return answer


def ident_accepts_everything(monkeypatch) -> FakeTransport:
    """Make the outbox relay 'send' to a fake IDENT that accepts everything; returns it to inspect."""
    fake = FakeTransport()
    monkeypatch.setattr("ident_bridge.outbox.default_transport", lambda: fake)
    return fake
