"""The one transition mechanism every workflow uses (queries, partner requests, ICTS cases).

Each app keeps its own state table (`TRANSITIONS` in its workflow.py, with the named predicates beside it) and
binds a `Workflow` to its model and history model. A move locks the row, checks the table, writes the history row
and the new status in one transaction, or changes nothing and raises `TransitionNotAllowed` (a DomainError with code
`wrong_state`: the page shows it, the API answers 409). The first history row (from "" to the initial status) is
written by `Workflow.start()`, so every object's history begins at its creation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.apps import apps
from django.db import transaction

from .errors import DomainError


class TransitionNotAllowed(DomainError):
    def __init__(self, noun: str, current_label: str, target_label: str, *, current: str = "", target: str = ""):
        self.current = current
        self.target = target
        super().__init__(f"{noun} that is '{current_label}' cannot become '{target_label}'.", code="wrong_state")


@dataclass(frozen=True)
class Workflow:
    model: str  # "app_label.Model"
    history: str  # "app_label.HistoryModel", with from_status, to_status, actor, reason and a FK to the model
    fk: str  # the history model's field pointing at the model
    statuses: type  # the TextChoices of the statuses
    table: Mapping[str, frozenset[str]]
    noun: str  # "A query", "An ICTS case": the start of a refusal's sentence
    reason_max: int = 300

    def can(self, current: str, target: str) -> bool:
        return target in self.table.get(current, frozenset())

    def refusal(self, current: str, target: str) -> TransitionNotAllowed:
        return TransitionNotAllowed(self.noun, self.statuses(current).label, self.statuses(target).label,
                                    current=current, target=target)

    def start(self, obj, *, actor=None, reason: str = ""):
        """The first history row of a new object (its initial status)."""
        return apps.get_model(self.history).objects.create(**{self.fk: obj}, from_status="", to_status=obj.status,
                                                           actor=actor, reason=reason[: self.reason_max])

    def move(self, obj, to: str, *, actor=None, reason: str = ""):
        """Lock, check, record, in one transaction. Returns the locked, updated instance; `obj.status` follows."""
        model = apps.get_model(self.model)
        with transaction.atomic():
            locked = model.objects.select_for_update().get(pk=obj.pk)
            if not self.can(locked.status, to):
                raise self.refusal(locked.status, to)
            apps.get_model(self.history).objects.create(**{self.fk: locked}, from_status=locked.status, to_status=to,
                                                        actor=actor, reason=reason[: self.reason_max])
            locked.status = to
            locked.save(update_fields=["status", "updated_at"])
        obj.status = locked.status
        if hasattr(obj, "updated_at"):
            obj.updated_at = locked.updated_at
        return locked
