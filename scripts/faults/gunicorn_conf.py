"""gunicorn hooks for the fault suite (`-c scripts/faults/gunicorn_conf.py`): one JSON line per answer CPMS gives.

Every request to CPMS, from the suite's clients and from the simulator alike, is written to $CPMS_FAULTS_ANSWERS
with when it started and ended (epoch seconds), method, path, status and user agent. The suite's "5xx answered
for valid input" column is computed from these lines (docs/faults.md). A request gunicorn could not answer at
all (the app raised past Django) is written with status null and counts as a 5xx.
"""

import json
import os
import time

_PATH = os.environ.get("CPMS_FAULTS_ANSWERS", "")


def pre_request(worker, req):
    req.faults_started = time.time()


def post_request(worker, req, environ, resp):
    if not _PATH:
        return
    status = getattr(resp, "status_code", None) if resp is not None else None
    agent = next((value for name, value in req.headers if name == "USER-AGENT"), "")
    line = json.dumps({"t0": getattr(req, "faults_started", None), "t1": time.time(), "method": req.method, "path": req.path,
                       "status": status, "agent": agent[:80], "pid": os.getpid()})
    fd = os.open(_PATH, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)
