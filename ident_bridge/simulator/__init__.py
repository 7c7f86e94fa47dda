"""The IDENT simulator: plays IDENT and the foreign partners' galleries over the ICD, from the other side.

Run it with `manage.py ident_simulator` (docs/simulator.md), or in-process from tests:

    sim = Simulator(cpms_url, secret, state_path, result_delay=0)
    ident_url = sim.start_in_thread("127.0.0.1", 0)  # give CPMS this as IDENT_URL
    sim.send_partner_request(partner="AUS", fin="FIN1000000002", template="AUS-v1")
    sim.stop()

It builds on `ident_bridge.icd` and `ident_bridge.transport` only: no Django, no database.
"""

from .handler import ControlError
from .server import Simulator

__all__ = ["ControlError", "Simulator"]
