"""The simulator's own page: send a partner's request by hand and watch what CPMS answers.

Served by the simulator (not by CPMS) at `GET /_sim/` (also `/_sim/ui`), with the form posting to
`POST /_sim/ui/send`. Plain HTML with inline CSS: no script, no external asset, every value escaped. Like
the rest of `/_sim/*` it is unsigned, so it belongs on loopback or a closed network (docs/simulator.md).
A post from a page of another origin is refused (the browser says where it comes from in `Origin`).

Post/redirect/get: the form post answers 303 to `/_sim/?ok=…` or `/_sim/?error=…`, carrying the form's
values back so the next request starts from the last one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlencode, urlsplit

from .. import icd
from . import galleries, partners
from .handler import ControlError
from .server import DEFAULT_REQUESTED_ITEMS

if TYPE_CHECKING:
    from .server import Simulator

PAGE_PATH = "/_sim/"
SEND_PATH = "/_sim/ui/send"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
REQUESTS_SHOWN = 100
RECEIVED_SHOWN = 50
# Defaults of the form, as Simulator.send_partner_request's.
DEFAULT_REASON = "refugee_claimant"
DEFAULT_PRIORITY = "high"

_HEADERS = (
    ("Cache-Control", "no-store"),
    ("X-Content-Type-Options", "nosniff"),
    # Inline CSS only; nothing else may load, run, frame the page or receive its form.
    ("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"),
)

_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#1b1b1b;max-width:90rem}
h1{font-size:1.4rem;margin:0 0 .2rem}h2{font-size:1.1rem;margin:1.5rem 0 .5rem}
p.sub{margin:0 0 1rem;color:#555}
.flash{padding:.5rem .75rem;border-radius:4px;margin:0 0 1rem}
.ok{background:#e7f4e4;border:1px solid #4d8b3f}.error{background:#fbe9e7;border:1px solid #b3261e}
form{display:grid;grid-template-columns:max-content 1fr;gap:.4rem .8rem;align-items:center;max-width:48rem}
fieldset{border:0;margin:0;padding:0}fieldset label{margin-right:.8rem;white-space:nowrap}
button{justify-self:start;padding:.3rem 1rem}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #ccc;padding:.25rem .4rem;text-align:left;vertical-align:top}
th{background:#f2f2f2}code{font-size:.9em}.muted{color:#666}
"""


@dataclass(frozen=True)
class Page:
    """An HTML (or redirect) answer for the handler to write as it stands."""

    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()


def _e(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


def _last(form: Mapping[str, list[str]], name: str, default: str = "") -> str:
    values = form.get(name)
    return values[-1] if values else default


# --- GET /_sim/ ---------------------------------------------------------------------------------------------


def page(simulator: Simulator, query: Mapping[str, list[str]]) -> Page:
    """The form, the requests sent so far with CPMS's answers, and the latest messages from CPMS."""
    body = "\n".join([
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>IDENT simulator</title><style>{_CSS}</style></head><body>",
        "<h1>IDENT simulator</h1>",
        f'<p class="sub">Plays IDENT and the partners. Delivers to <code>{_e(simulator.cpms_url)}/messages</code>. '
        f'<a href="{PAGE_PATH}">Refresh</a> · <a href="/_sim/requests">requests (JSON)</a> · '
        '<a href="/_sim/received">received (JSON)</a> · <a href="/_sim/outbound">outbound (JSON)</a></p>',
        _flash(query),
        "<h2>Send a partner's request</h2>",
        _form(query),
        "<h2>Requests sent</h2>",
        _requests_table(simulator.store.requests_overview(REQUESTS_SHOWN)),
        "<h2>Latest messages from CPMS</h2>",
        _received_table(simulator.store.recent_received(RECEIVED_SHOWN)),
        "</body></html>",
    ])
    return Page(200, body.encode("utf-8"), (("Content-Type", "text/html; charset=utf-8"), *_HEADERS))


def _flash(query: Mapping[str, list[str]]) -> str:
    if error := _last(query, "error"):
        return f'<p class="flash error" role="alert">{_e(error)}</p>'
    if ok := _last(query, "ok"):
        return f'<p class="flash ok" role="status">{_e(ok)}</p>'
    return ""


def _options(values: tuple[str, ...] | list[str], selected: str) -> str:
    return "".join(f'<option{" selected" if v == selected else ""}>{_e(v)}</option>' for v in values)


def _fin_choices() -> list[tuple[str, str]]:
    """The datalist: the demo FINs with what CPMS should do, then the gallery FINs with whom they hold."""
    labels: dict[str, list[str]] = {}
    for fin, label in galleries.DEMO_REQUEST_FINS:
        labels.setdefault(fin, []).append(f"demo: {label}")
    for partner, gallery in galleries.GALLERIES.items():
        for fin, person in gallery.items():
            labels.setdefault(fin, []).append(f"{partner} gallery: {person.family_name} {person.given_names}")
    return [(fin, "; ".join(texts)) for fin, texts in sorted(labels.items())]


def _form(query: Mapping[str, list[str]]) -> str:
    partner = _last(query, "partner", icd.PARTNERS[0])
    template = _last(query, "template", partners.TEMPLATES[0])
    items = query.get("items") or list(DEFAULT_REQUESTED_ITEMS)
    datalist = "".join(f'<option value="{_e(fin)}" label="{_e(label)}">' for fin, label in _fin_choices())
    checkboxes = "".join(
        f'<label><input type="checkbox" name="items" value="{_e(item)}"{" checked" if item in items else ""}> {_e(item)}</label> '
        for item in icd.REQUESTED_ITEMS
    )
    return "\n".join([
        f'<form method="post" action="{SEND_PATH}">',
        f'<label for="partner">Partner</label><select id="partner" name="partner">{_options(icd.PARTNERS, partner)}</select>',
        '<label for="fin">FIN</label>'
        f'<input id="fin" name="fin" list="fins" required pattern="[A-Za-z0-9]{{10,16}}" value="{_e(_last(query, "fin"))}"'
        ' autocomplete="off" placeholder="FIN1000000001">',
        f'<datalist id="fins">{datalist}</datalist>',
        f'<label for="template">Template</label><select id="template" name="template">'
        f"{_options(partners.TEMPLATES, template)}</select>",
        f"<span>Requested items</span><fieldset>{checkboxes}</fieldset>",
        f'<label for="reason">Reason</label><select id="reason" name="reason">'
        f"{_options(icd.REASONS, _last(query, 'reason', DEFAULT_REASON))}</select>",
        f'<label for="priority">Priority</label><select id="priority" name="priority">'
        f"{_options(icd.PRIORITIES, _last(query, 'priority', DEFAULT_PRIORITY))}</select>",
        '<label for="request_ref">Request ref</label>'
        f'<input id="request_ref" name="request_ref" value="{_e(_last(query, "request_ref"))}" '
        'placeholder="optional: generated when empty">',
        '<span></span><button type="submit">Send request.received</button>',
        "</form>",
    ])


def _answer(request: dict) -> str:
    """CPMS's reply as the partner received it: a no_match, or what the package carries."""
    outcome = request["reply_outcome"]
    if outcome is None:
        return '<span class="muted">no reply yet</span>'
    when = f' <span class="muted">{_e(request["replied_at"])}</span>'
    package = request["reply_package"]
    if outcome != "response" or not package:
        return f"<strong>{_e(outcome)}</strong>{when}"
    elements = sorted(package.get("person", {}))
    attachments = package.get("attachments", [])
    kinds = ", ".join(sorted({a.get("kind", "?") for a in attachments}))
    reviewer = package.get("reviewer", {}).get("name", "")
    return (
        f"<strong>response</strong>{when}<br>"
        f"{len(elements)} element(s): {_e(', '.join(elements)) or '—'}<br>"
        f"{len(attachments)} attachment(s){f' ({_e(kinds)})' if kinds else ''}"
        f"{f'<br>reviewer: {_e(reviewer)}' if reviewer else ''}"
    )


def _delivery(delivery: dict) -> str:
    status = delivery["status"] or "unknown"
    text = f"{_e(status)} ({_e(delivery['attempts'])} attempt(s))"
    if delivery["sent_at"]:
        text += f' <span class="muted">{_e(delivery["sent_at"])}</span>'
    if delivery["last_error"]:
        text += f"<br><small>{_e(delivery['last_error'])}</small>"
    return text


def _requests_table(requests: list[dict]) -> str:
    if not requests:
        return '<p class="muted">No request sent yet.</p>'
    rows = "".join(
        "<tr>"
        f"<td><code>{_e(r['request_ref'])}</code></td><td>{_e(r['partner'])}</td><td><code>{_e(r['fin'])}</code></td>"
        f"<td>{_e(r['template'])}</td><td>{_e(r['created_at'])}</td><td>{_delivery(r['delivery'])}</td>"
        f"<td>{_answer(r)}</td><td>{_e(', '.join(r['augment_refs'])) or '—'}</td>"
        "</tr>"
        for r in requests
    )
    return (
        "<table><thead><tr><th>request_ref</th><th>partner</th><th>FIN</th><th>template</th><th>sent</th>"
        f"<th>delivery to CPMS</th><th>CPMS's answer</th><th>augmentations</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _reference(message: dict) -> str:
    parts = [message["ref"], message["augment_ref"] and f"augment {message['augment_ref']}",
             message["round"] and f"round {message['round']}", message["outcome"]]
    return " · ".join(str(p) for p in parts if p)


def _status(message: dict) -> str:
    status = "answered" if message["processed"] else message["process_error"] or "pending"
    times = message["times_received"]
    return _e(status + (f" (received {times}×)" if times > 1 else ""))


def _received_table(received: list[dict]) -> str:
    if not received:
        return '<p class="muted">Nothing received from CPMS yet.</p>'
    rows = "".join(
        "<tr>"
        f"<td>{_e(m['received_at'])}</td><td>{_e(m['type'])}</td><td>{_e(m['partner'])}</td><td>{_e(_reference(m))}</td>"
        f"<td>{_status(m)}</td>"
        "</tr>"
        for m in received
    )
    return (
        "<table><thead><tr><th>received</th><th>type</th><th>partner</th><th>reference</th><th>simulator</th></tr>"
        f"</thead><tbody>{rows}</tbody></table>"
    )


# --- POST /_sim/ui/send -------------------------------------------------------------------------------------


def send(simulator: Simulator, raw: bytes, headers: Mapping[str, str]) -> Page:
    """Send the form's request through `Simulator.send_partner_request`, then 303 back to the page."""
    origin = headers.get("Origin")
    if origin and origin != "null" and urlsplit(origin).netloc != headers.get("Host"):
        return _plain(403, "Refused: the form was posted from another site.")
    if (headers.get("Content-Type") or "").split(";")[0].strip().lower() != FORM_CONTENT_TYPE:
        return _plain(415, f"Post the form as {FORM_CONTENT_TYPE}.")
    try:
        form = parse_qs(raw.decode("utf-8"), keep_blank_values=True, max_num_fields=100)
    except (UnicodeDecodeError, ValueError):
        return _plain(400, "The form could not be read.")
    fin = _last(form, "fin").strip().upper()  # typed by hand: forgive spaces and lower case
    request = {
        "partner": _last(form, "partner"),
        "fin": fin,
        "template": _last(form, "template"),
        "request_ref": _last(form, "request_ref").strip() or None,
        "requested_items": form.get("items", []),
        "reason": _last(form, "reason", DEFAULT_REASON),
        "priority": _last(form, "priority", DEFAULT_PRIORITY),
    }
    keep = {key: request[key] for key in ("partner", "fin", "template", "reason", "priority")}
    try:
        message = simulator.send_partner_request(**request)
    except ControlError as exc:
        flash = "Not sent. " + "; ".join(f"{e.pointer}: {e.detail}" for e in exc.errors)
        back = {"error": flash, **keep, "request_ref": request["request_ref"] or "", "items": request["requested_items"]}
    else:
        ref = message["body"]["request_ref"]
        flash = f"Sent request.received {ref}: {request['partner']} asks about {fin} in {request['template']}."
        back = {"ok": flash, **keep, "items": request["requested_items"]}
    return Page(303, headers=(("Location", f"{PAGE_PATH}?{urlencode(back, doseq=True)}"), *_HEADERS))


def _plain(status: int, text: str) -> Page:
    return Page(status, text.encode("utf-8"), (("Content-Type", "text/plain; charset=utf-8"), *_HEADERS))
