"""Print the current second-factor code of a demo user (the demo pre-enrols every demo user with a fixed secret).

    .venv/bin/python scripts/demo_code.py officer        # 6 digits, valid for the rest of this 30-second step

Or add the secret it prints to any authenticator app. Demo only: real users enrol their own at first sign-in.
"""

from __future__ import annotations

import sys
import time
from base64 import b32encode
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from django_otp.oath import totp  # noqa: E402  (plain functions: no Django set-up needed)

from cpms.core.demo_data import USERS, demo_totp_key  # noqa: E402


def code(username: str) -> str:
    """The code an authenticator app shows now for this demo user (TOTP: 30-second steps, six digits)."""
    return f"{totp(bytes.fromhex(demo_totp_key(username))):06d}"


def main(argv: list[str]) -> int:
    names = {u[0] for u in USERS}
    if len(argv) != 1 or argv[0] not in names:
        print(f"usage: scripts/demo_code.py USER   (one of: {', '.join(sorted(names))})", file=sys.stderr)
        return 2
    key = bytes.fromhex(demo_totp_key(argv[0]))
    left = 30 - int(time.time()) % 30
    print(f"{code(argv[0])}   (valid {left} s more; secret for an app: {b32encode(key).decode()})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
