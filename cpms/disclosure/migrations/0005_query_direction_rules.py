"""The query direction of the rules (our query, round 3 or augmentation about a person), published as a new rule-set
version that carries the active version's reply rules unchanged. The query rules are frozen here: replaying the
migrations gives the same version whatever cpms.disclosure.defaults says later."""

from django.db import migrations

# (protected_class, action, exception, citation), direction "query"
RULES_QUERY = [
    ('T', 'refer', 'none',
     '8 U.S.C. 1367: a privacy officer decides before USCIS asks a foreign government about the person'),
    ('T_DERIVATIVE', 'refer', 'none',
     '8 U.S.C. 1367: a privacy officer decides before USCIS asks a foreign government about the person'),
    ('U', 'refer', 'none',
     '8 U.S.C. 1367: a privacy officer decides before USCIS asks a foreign government about the person'),
    ('U_DERIVATIVE', 'refer', 'none',
     '8 U.S.C. 1367: a privacy officer decides before USCIS asks a foreign government about the person'),
    ('VAWA', 'refer', 'none',
     '8 U.S.C. 1367: a privacy officer decides before USCIS asks a foreign government about the person'),
    ('VAWA_DERIVATIVE', 'refer', 'none',
     '8 U.S.C. 1367: a privacy officer decides before USCIS asks a foreign government about the person'),
    ('ASYLUM', 'withhold', 'consent_or_authorisation',
     "8 CFR 208.6; a query reveals the claim: only with the applicant's written consent or under the agreement's Five Country Conference authorisation (PIA Appendix A items 5 and 8)"),
    ('CAT', 'withhold', 'consent_or_authorisation',
     "8 CFR 208.6; a query reveals the claim: only with the applicant's written consent or under the agreement's Five Country Conference authorisation (PIA Appendix A items 5 and 8)"),
    ('CREDIBLE_FEAR', 'withhold', 'consent_or_authorisation',
     "8 CFR 208.6; a query reveals the claim: only with the applicant's written consent or under the agreement's Five Country Conference authorisation (PIA Appendix A items 5 and 8)"),
    ('REASONABLE_FEAR', 'withhold', 'consent_or_authorisation',
     "8 CFR 208.6; a query reveals the claim: only with the applicant's written consent or under the agreement's Five Country Conference authorisation (PIA Appendix A items 5 and 8)"),
    ('REFUGEE', 'withhold', 'consent_or_authorisation',
     "8 CFR 208.6 (applied to refugees by DHS policy); a query reveals the claim: only with the applicant's written consent or under the agreement's Five Country Conference authorisation (PIA Appendix A items 5 and 8)"),
    ('WITHHOLDING', 'withhold', 'consent_or_authorisation',
     "8 CFR 208.6; a query reveals the claim: only with the applicant's written consent or under the agreement's Five Country Conference authorisation (PIA Appendix A items 5 and 8)"),
    ('LPR', 'withhold', 'none',
     'Privacy Act of 1974 (5 U.S.C. 552a); outside the scope of the information sharing agreements'),
    ('USC', 'withhold', 'none',
     'Privacy Act of 1974 (5 U.S.C. 552a); outside the scope of the information sharing agreements'),
]


def publish_query_rules(apps, schema_editor):
    from django.db.models import Max
    from django.utils import timezone

    RuleSet = apps.get_model("disclosure", "RuleSet")
    Rule = apps.get_model("disclosure", "Rule")
    active = RuleSet.objects.filter(is_active=True).first()
    if active is None or Rule.objects.filter(ruleset=active, direction="query").exists():
        return
    version = (RuleSet.objects.aggregate(v=Max("version"))["v"] or 0) + 1
    RuleSet.objects.filter(pk=active.pk).update(is_active=False)
    new = RuleSet.objects.create(version=version, is_active=True, published_at=timezone.now(),
                                 note=f"v{active.version}'s reply rules, and the query direction: 8 U.S.C. 1367 refer to a "
                                      "privacy officer; 8 CFR 208.6 only with consent or the FCC authorisation; U.S. "
                                      "citizens and LPRs never")
    Rule.objects.bulk_create(
        [Rule(ruleset=new, direction=r.direction, protected_class=r.protected_class, partner_id=r.partner_id, action=r.action,
              exception=r.exception, citation=r.citation) for r in Rule.objects.filter(ruleset=active)]
        + [Rule(ruleset=new, direction="query", protected_class=c, action=a, exception=e, citation=t) for c, a, e, t in RULES_QUERY]
    )


class Migration(migrations.Migration):
    dependencies = [("disclosure", "0004_alter_rule_options_and_more")]
    operations = [migrations.RunPython(publish_query_rules, migrations.RunPython.noop)]
