import pytest
import requests

from ident_bridge.transport import BridgeError, Transport


class Boom(requests.Session):
    def __init__(self, exc):
        super().__init__()
        self.exc = exc

    def post(self, *a, **kw):
        raise self.exc


@pytest.mark.parametrize("exc,permanent", [
    (requests.Timeout(), False),
    (requests.ConnectionError(), False),
    (requests.exceptions.ChunkedEncodingError(), False),
    (requests.exceptions.InvalidURL(), True),
])
def test_network_errors_become_bridge_errors(exc, permanent):
    with pytest.raises(BridgeError) as info:
        Transport("http://ident.invalid/ident/v1", "s", session=Boom(exc)).post(b"{}")
    assert info.value.permanent is permanent
