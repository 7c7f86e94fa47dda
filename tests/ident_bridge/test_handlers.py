"""The apps register what each ICD message means; a type without a handler is found at start-up, not at run time."""

from ident_bridge import handlers


def test_every_inbound_type_has_its_handler_once_the_apps_are_ready():
    assert handlers.check_every_inbound_type_is_handled() == []
    from cpms.partner_requests import services as requests
    from cpms.queries import services as queries

    assert handlers.receive_handler({"type": "query.response", "body": {"query_ref": "Q"}}) is queries.round_record_response
    assert handlers.receive_handler({"type": "query.response", "body": {"augment_ref": "A"}}) is \
        requests.augmentation_record_response
    assert handlers.receive_handler({"type": "request.received", "body": {}}) is requests.request_record_received


def test_a_missing_handler_is_a_configuration_error_of_manage_py_check(monkeypatch):
    monkeypatch.setitem(handlers._receive, "request.received", [])
    errors = handlers.check_every_inbound_type_is_handled()
    assert [e.id for e in errors] == ["ident_bridge.E001"]
    assert "request.received" in errors[0].msg and "on_receive" in errors[0].hint


def test_registering_is_idempotent_and_refuses_the_wrong_direction():
    import pytest

    before = list(handlers._receive["delivery.ack"])
    from ident_bridge import routing

    handlers.on_receive("delivery.ack", routing.record_delivery_ack)
    assert handlers._receive["delivery.ack"] == before
    with pytest.raises(ValueError, match="not a message IDENT sends"):
        handlers.on_receive("query.submit", routing.record_delivery_ack)


def test_the_partner_request_workflow_finds_its_case_desk(monkeypatch):
    from cpms.partner_requests import ports

    assert ports.check_case_desk() == []
    monkeypatch.setattr(ports, "_desk", None)
    assert [e.id for e in ports.check_case_desk()] == ["partner_requests.E001"]
