"""Template filters that show the ICD's codes in plain language (cpms.core.labels is where the words are written)."""

from django import template

from cpms.core import labels

register = template.Library()


@register.filter
def element_label(code: str) -> str:
    return labels.label(labels.ELEMENT_LABELS, code)


@register.filter
def kind_label(code: str) -> str:
    return labels.label(labels.KIND_LABELS, code)


@register.filter
def element_labels(codes) -> str:
    """A list of data elements as one line: "A-Number, Countries of citizenship"."""
    return ", ".join(labels.label(labels.DISCLOSED_LABELS, c) for c in codes or [])


@register.filter
def read_object_label(object_type: str) -> str:
    return labels.label(labels.READ_OBJECT_LABELS, object_type)


@register.filter
def purpose_label(code: str) -> str:
    return labels.label(labels.PURPOSE_LABELS, code or "") if code else "Not recorded"


@register.filter
def country(code: str) -> str:
    return labels.country_label(code)


@register.filter
def countries(codes) -> str:
    return ", ".join(labels.country_label(c) for c in codes or [])


@register.filter
def reason_label(code: str) -> str:
    """Why a partner or USCIS asks, in words ("Application for a benefit", not `application`)."""
    return labels.label(labels.REASON_LABELS, code) if code else ""


@register.filter
def priority_label(code: str) -> str:
    return labels.label(labels.PRIORITY_LABELS, code) if code else ""
