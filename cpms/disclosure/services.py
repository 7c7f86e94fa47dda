"""Rule-set versions: a published version is never edited; changing the rules means publishing a new one."""

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from cpms.audit.services import audited_update

from .models import Rule, RuleSet


def ruleset_new_draft(*, actor, source: RuleSet, note: str = "") -> RuleSet:
    with transaction.atomic():
        version = (RuleSet.objects.aggregate(v=Max("version"))["v"] or 0) + 1
        draft = RuleSet.objects.create(version=version, note=note or f"Draft based on v{source.version}", created_by=actor)
        Rule.objects.bulk_create(
            Rule(ruleset=draft, protected_class=r.protected_class, partner_id=r.partner_id, action=r.action, exception=r.exception,
                 citation=r.citation)
            for r in source.rules.all()
        )
    return draft


def ruleset_publish(*, actor, ruleset: RuleSet) -> RuleSet:
    with transaction.atomic():
        for pk in RuleSet.objects.select_for_update().filter(is_active=True).values_list("pk", flat=True):
            audited_update(RuleSet, pk, is_active=False)
        audited_update(RuleSet, ruleset.pk, is_active=True, published_at=timezone.now())
    ruleset.refresh_from_db()
    return ruleset
