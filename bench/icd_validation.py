"""ICD message validation: the previous stack (stdlib json + Python `jsonschema`) against the current one
(orjson + jsonschema-rs, `ident_bridge.icd`), on three realistic messages, and what each stack lets through.

Messages (built with the simulator's own code, so they are what IDENT and CPMS really exchange):
- `request.received` from AUS in its own template (a few hundred bytes);
- `query.response` round 2 with the person's full biographic picture and two small attachments
  (the simulator's PNG photograph and JPEG passport page);
- `request.reply` `response` with a package and one ~2 MB PDF attachment (~2.7 MB of base64).

Two figures per message and stack, in µs per message and messages per second:
- validate: bytes to a schema-checked message. Previous: `json.loads` + `Draft202012Validator(...,
  format_checker=FormatChecker()).iter_errors`; current: `icd.loads` + `icd.schema_errors` (orjson, the ICD §2
  string/number/nesting walk, jsonschema-rs with formats);
- parse: the whole receive-side check, `icd.parse` (the above plus the direction check and decoding every
  attachment with its sha256 and magic number); the previous stack runs the same attachment code.
Each figure is the median of --rounds rounds (old and new interleaved in each round, so a busy machine slows
both alike); the ratio is previous / current within this run. Nothing is asserted.

Then the cost of refusing duplicate member names (ICD 1.2 §2) on each message: orjson alone, `icd.loads` (orjson
and the colon census), and the exact stdlib path; and two messages that ICD v1.1 refuses (a `2026-02-30T10:00:00Z`
date-time, a `fin` with a trailing newline): what each stack answers, printed.

    python bench/icd_validation.py [--rounds 7] [--seconds 0.3]
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from jsonschema import Draft202012Validator, FormatChecker  # noqa: E402  (still installed: drf-spectacular needs it)

from ident_bridge import icd  # noqa: E402
from ident_bridge.simulator import galleries, partners  # noqa: E402

NOW = 1_790_000_000.0  # a fixed instant (2026-09-21), so every run builds the same bytes


# --- the messages ----------------------------------------------------------------------------------------


def _request_received() -> bytes:
    person = galleries.request_subject("AUS", "FIN1000000002")
    out = partners.request_received(person, partner="AUS", template="AUS-v1", request_ref="AUS-2026-000123",
                                    requested_items=["biographic", "immigration_status", "document_images"],
                                    reason="refugee_claimant", priority="high", now=NOW)
    return out.raw


def _query_response() -> bytes:
    person = galleries.lookup("CAN", "FIN1000000001")
    submit = icd.envelope("query.submit", "CAN", {"query_ref": "Q-2026-000001", "fin": person.fin})
    answers = partners.answer_query_submit(submit, person, now=NOW, delay=1.0)
    response = next(a for a in answers if a.message["type"] == "query.response")
    return response.raw


def _pdf(size: int) -> bytes:
    """A real one-page PDF (catalog, pages, page, one image XObject, a cross-reference table) of about `size` bytes,
    the image's bytes deterministic and incompressible: a scanned document's worth, that the file checks accept."""
    rng = random.Random(20260921)
    side = int((size - 1024) ** 0.5)
    pixels = rng.randbytes(side * side)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /XObject << /Im0 4 0 R >> >> >>",
        (b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray /BitsPerComponent 8 /Length %d >>\n"
         b"stream\n" % (side, side, len(pixels))) + pixels + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1) + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _request_reply() -> bytes:
    person = galleries.lookup("CAN", "FIN1000000003")
    elements = person.elements()
    package = {
        "reviewer": {"name": "Rita Moreno", "organization": "USCIS", "office": "ICTS"},
        "responded_at": partners.rfc3339(NOW),
        "person": {k: elements[k] for k in ("family_name", "given_names", "aliases", "date_of_birth", "gender",
                                             "country_of_birth", "countries_of_citizenship", "immigration_status")
                   if k in elements} | {"a_number": "A012345678", "fin": person.fin},
        "attachments": [icd.attachment(filename="marriage-certificate.pdf", media_type="application/pdf",
                                       kind="marriage_certificate", data=_pdf(2 * 1024 * 1024))],
    }
    message = icd.envelope("request.reply", "CAN", {"request_ref": "CAN-2026-1A2B3C4D", "outcome": "response",
                                                    "package": package}, sent_at=partners.rfc3339(NOW))
    return icd.canonical_bytes(message)


MESSAGES = [  # (label, bytes, the types this receiver accepts)
    ("request.received", _request_received, icd.IDENT_TO_CPMS),
    ("query.response + 2 attachments", _query_response, icd.IDENT_TO_CPMS),
    ("request.reply + 2 MB attachment", _request_reply, icd.CPMS_TO_IDENT),
]


# --- the previous stack (icd.py before ICD v1.1, commit 5d0c959) -----------------------------------------


class PreviousStack:
    """What `icd.parse` / `icd.schema_errors` did before: stdlib json, `jsonschema` with its default FormatChecker
    (which checks `date` with date.fromisoformat but has no `date-time` checker unless rfc3339-validator is
    installed, and runs `pattern` through Python's `re`)."""

    def __init__(self) -> None:
        schema = json.loads(icd.SCHEMA_PATH.read_text(encoding="utf-8"))
        Draft202012Validator.check_schema(schema)
        self.validator = Draft202012Validator(schema, format_checker=FormatChecker())

    def validate(self, raw: bytes) -> list:
        message = json.loads(raw.decode("utf-8"))
        return list(self.validator.iter_errors(message))

    def parse(self, raw: bytes, accept_types) -> icd.Parsed:
        try:
            message = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            return icd.Parsed(None, [icd.ICDError("", str(exc))], [])
        errors = [icd.ICDError("/" + "/".join(map(str, e.absolute_path)), e.message)
                  for e in self.validator.iter_errors(message)]
        if errors:
            return icd.Parsed(message, errors, [])
        if message["type"] not in accept_types:
            return icd.Parsed(message, [icd.ICDError("/type", "not accepted")], [])
        attachments, att_errors = icd.decode_attachments(message)
        return icd.Parsed(message, att_errors, attachments if not att_errors else [])


def current_validate(raw: bytes) -> list:
    message, errors = icd.loads(raw)
    return errors or icd.schema_errors(message)


# --- timing ----------------------------------------------------------------------------------------------


def calibrate(func, seconds: float) -> int:
    """How many calls fill about `seconds` (at least 3)."""
    n, started = 0, time.perf_counter()
    while n < 3 or time.perf_counter() - started < seconds / 3:
        func()
        n += 1
    per_call = (time.perf_counter() - started) / n
    return max(3, int(seconds / per_call))


def per_call_us(func, n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        func()
    return (time.perf_counter() - started) / n * 1e6


def measure(pairs: dict, rounds: int, seconds: float) -> dict:
    """pairs: name -> (old_callable, new_callable). Returns name -> {old_us, new_us, ratio, ...} (medians)."""
    counts = {name: (calibrate(old, seconds), calibrate(new, seconds)) for name, (old, new) in pairs.items()}
    samples = {name: ([], []) for name in pairs}
    for r in range(rounds):
        for name, (old, new) in pairs.items():
            n_old, n_new = counts[name]
            first_old = r % 2 == 0  # alternate which goes first
            order = ((0, old, n_old), (1, new, n_new)) if first_old else ((1, new, n_new), (0, old, n_old))
            for idx, func, n in order:
                samples[name][idx].append(per_call_us(func, n))
    out = {}
    for name, (old_s, new_s) in samples.items():
        old_us, new_us = statistics.median(old_s), statistics.median(new_s)
        out[name] = {"old_us": old_us, "new_us": new_us, "ratio": old_us / new_us,
                     "old_spread": (min(old_s), max(old_s)), "new_spread": (min(new_s), max(new_s)),
                     "calls": counts[name]}
    return out


def breakdown(raw: bytes, rounds: int, seconds: float) -> dict[str, float]:
    """Where the current stack's time goes on one message (medians, µs)."""
    import orjson

    message, _ = icd.loads(raw)
    validator = icd._validator()
    # The same walk with every attachment's content_base64 cut to 4 characters: what the walk would cost if it
    # left that member to the strict base64 decoder (which refuses any character outside the alphabet anyway).
    trimmed = copy.deepcopy(message)
    for _, att in icd.message_attachments(trimmed):
        att["content_base64"] = "AAAA"
    steps = {
        "orjson.loads": lambda: orjson.loads(raw),
        "float + member census (_census)": lambda: icd._census(message),
        "body colon count": lambda: raw.count(b":"),
        "ICD §2 walk (value_errors)": lambda: icd.value_errors(message),
        "  the same, w/o content_base64": lambda: icd.value_errors(trimmed),
        "jsonschema-rs is_valid": lambda: validator.is_valid(message),
        "attachments (b64 + sha256)": lambda: icd.decode_attachments(message),
    }
    counts = {k: calibrate(f, seconds / 2) for k, f in steps.items()}
    return {k: statistics.median(per_call_us(f, counts[k]) for _ in range(max(3, rounds // 2))) for k, f in steps.items()}


# --- what each stack accepts -----------------------------------------------------------------------------


def refused_cases(raw_request: bytes) -> list[tuple[str, bytes]]:
    base = json.loads(raw_request)
    bad_date = copy.deepcopy(base)
    bad_date["body"]["requested_at"] = "2026-02-30T10:00:00Z"
    bad_fin = copy.deepcopy(base)
    bad_fin["body"]["fin"] = "FIN1000000002\n"
    return [('requested_at "2026-02-30T10:00:00Z"', icd.canonical_bytes(bad_date)),
            ('fin "FIN1000000002\\n"', icd.canonical_bytes(bad_fin))]


def verdict(parsed: icd.Parsed) -> str:
    if not parsed.errors:
        return "ACCEPTED"
    first = parsed.errors[0]
    return f"refused: {first.pointer} {first.detail}" + (f" (+{len(parsed.errors) - 1} more)" if len(parsed.errors) > 1 else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7, help="repetitions of every figure; medians are reported")
    parser.add_argument("--seconds", type=float, default=0.3, help="about how long one repetition of one figure runs")
    args = parser.parse_args()

    previous = PreviousStack()
    built = [(label, make(), accept) for label, make, accept in MESSAGES]
    for label, raw, accept in built:  # both stacks must accept every benchmark message, or the figure means nothing
        for name, parsed in (("previous", previous.parse(raw, accept)), ("current", icd.parse(raw, accept_types=accept))):
            if parsed.errors:
                raise SystemExit(f"the {name} stack refuses the benchmark's {label}: {parsed.errors[:3]}")

    print(f"ICD validation, previous (json + jsonschema {_version('jsonschema')}) vs current "
          f"(orjson {_version('orjson')} + jsonschema-rs {_version('jsonschema_rs')}); "
          f"median of {args.rounds} rounds, ~{args.seconds:g} s each")
    header = (f"{'message':<33}{'bytes':>10}  {'step':<9}{'previous µs':>13}{'msg/s':>9}"
              f"{'current µs':>13}{'msg/s':>9}{'ratio':>8}")
    print(header)
    print("-" * len(header))
    results = {}
    for label, raw, accept in built:
        pairs = {
            "validate": (lambda raw=raw: previous.validate(raw), lambda raw=raw: current_validate(raw)),
            "parse": (lambda raw=raw, a=accept: previous.parse(raw, a), lambda raw=raw, a=accept: icd.parse(raw, accept_types=a)),
        }
        res = measure(pairs, args.rounds, args.seconds)
        results[label] = res
        for i, (step, r) in enumerate(res.items()):
            print(f"{label if i == 0 else '':<33}{len(raw) if i == 0 else '':>10}  {step:<9}{r['old_us']:>13,.1f}"
                  f"{1e6 / r['old_us']:>9,.0f}{r['new_us']:>13,.1f}{1e6 / r['new_us']:>9,.0f}{r['ratio']:>7.1f}x", flush=True)
    print("ratio = previous µs / current µs (above 1: the current stack is faster)")

    print("\nCurrent stack, where the time goes on the messages with attachments, median µs:")
    parts = {label: breakdown(raw, args.rounds, args.seconds) for label, raw, _ in built[1:]}
    print(f"  {'step':<34}" + "".join(f"{label:>34}" for label in parts))
    for step in next(iter(parts.values())):
        print(f"  {step:<34}" + "".join(f"{p[step]:>34,.1f}" for p in parts.values()))

    print("\nDuplicate member names (ICD 1.2 §2): orjson.loads alone, icd.loads (orjson, then the colon census that proves "
          "no member was dropped), and the exact path (stdlib json with object_pairs_hook) on every message; median µs:")
    print(f"  {'message':<33}{'orjson':>10}{'icd.loads':>12}{'exact':>12}{'icd/orjson':>12}{'exact/icd':>11}")
    duplicates = {}
    for label, raw, _ in built:
        import orjson

        hook = icd._members([])
        steps = {"orjson": lambda raw=raw: orjson.loads(raw), "icd": lambda raw=raw: icd.loads(raw),
                 "exact": lambda raw=raw, hook=hook: json.loads(raw, object_pairs_hook=hook)}
        counts = {k: calibrate(f, args.seconds / 2) for k, f in steps.items()}
        us = {k: statistics.median(per_call_us(f, counts[k]) for _ in range(max(3, args.rounds // 2))) for k, f in steps.items()}
        duplicates[label] = us
        print(f"  {label:<33}{us['orjson']:>10,.1f}{us['icd']:>12,.1f}{us['exact']:>12,.1f}{us['icd'] / us['orjson']:>11.2f}x"
              f"{us['exact'] / us['icd']:>10.2f}x", flush=True)
    twice = built[0][1].replace(b'"priority":"high"', b'"priority":"high","priority":"low"')
    print(f"  a request.received naming priority twice: {verdict(icd.parse(twice, accept_types=icd.IDENT_TO_CPMS))}")

    print("\nWhat ICD v1.1 refuses (ICD §2), on the request.received above:")
    print(f"  previous FormatChecker enforces: {', '.join(sorted(FormatChecker().checkers))}")
    for label, raw in refused_cases(built[0][1]):
        print(f"  {label}")
        print(f"    previous: {verdict(previous.parse(raw, icd.IDENT_TO_CPMS))}")
        print(f"    current:  {verdict(icd.parse(raw, accept_types=icd.IDENT_TO_CPMS))}")
        alone = icd._validator().is_valid(json.loads(raw))
        print(f"    current, jsonschema-rs alone (without the §2 walk): {'ACCEPTED' if alone else 'refused'}")

    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / "icd_validation.json").write_text(json.dumps({"config": vars(args), "results": results, "breakdown_us": parts,
                                                         "duplicates_us": duplicates},
                                                        indent=2))


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist.replace("_", "-"))
    except PackageNotFoundError:
        return "?"


if __name__ == "__main__":
    main()
