"""`make faults`: the fault suite (docs/faults.md). CPMS on a real stack of its own (gunicorn, Celery worker and
beat, Redis, a PostgreSQL cluster on another port, the IDENT simulator) carries mixed traffic both ways while
workers are SIGKILLed, Redis and PostgreSQL restart and the simulator answers 5xx, times out and delivers twice;
then it prints what was sent, delivered, lost, sent twice, processed twice, stuck and answered 5xx.

    .venv/bin/python scripts/faults.py                  # 1,000 messages (or $FAULTS_MESSAGES)
    .venv/bin/python scripts/faults.py --messages 100   # what CI runs (tests/integration/test_faults.py)

Exit status 0 when every column but sent and delivered is 0, 1 otherwise, 2 when it could not run.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.faults.driver import main  # noqa: E402  (the package scripts/faults/, beside this file)

if __name__ == "__main__":
    sys.exit(main())
