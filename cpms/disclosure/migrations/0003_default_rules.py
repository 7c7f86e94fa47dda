"""Rule set version 1, as published. The data is frozen here: replaying the migrations gives the same version 1
whatever cpms.disclosure.defaults says later (a change to the defaults is a new rule-set version, published in the
admin, never a rewrite of history)."""

from django.db import migrations

# (protected_class, action, exception, citation)
RULES_V1 = [
    ('T', 'withhold', 'none',
     '8 U.S.C. 1367 (no foreign-government exception)'),
    ('T_DERIVATIVE', 'withhold', 'none',
     '8 U.S.C. 1367 (no foreign-government exception)'),
    ('U', 'withhold', 'none',
     '8 U.S.C. 1367 (no foreign-government exception)'),
    ('U_DERIVATIVE', 'withhold', 'none',
     '8 U.S.C. 1367 (no foreign-government exception)'),
    ('VAWA', 'withhold', 'none',
     '8 U.S.C. 1367 (no foreign-government exception)'),
    ('VAWA_DERIVATIVE', 'withhold', 'none',
     '8 U.S.C. 1367 (no foreign-government exception)'),
    ('ASYLUM', 'withhold', 'consent_or_authorisation',
     "8 CFR 208.6; disclosure needs the applicant's written consent or the Secretary's authorisation"),
    ('CAT', 'withhold', 'consent_or_authorisation',
     "8 CFR 208.6; disclosure needs the applicant's written consent or the Secretary's authorisation"),
    ('CREDIBLE_FEAR', 'withhold', 'consent_or_authorisation',
     "8 CFR 208.6; disclosure needs the applicant's written consent or the Secretary's authorisation"),
    ('REASONABLE_FEAR', 'withhold', 'consent_or_authorisation',
     "8 CFR 208.6; disclosure needs the applicant's written consent or the Secretary's authorisation"),
    ('REFUGEE', 'withhold', 'consent_or_authorisation',
     "8 CFR 208.6 (applied to refugees by DHS policy); disclosure needs the applicant's written consent or the Secretary's authorisation"),
    ('WITHHOLDING', 'withhold', 'consent_or_authorisation',
     "8 CFR 208.6; disclosure needs the applicant's written consent or the Secretary's authorisation"),
    ('LPR', 'withhold', 'none',
     'Privacy Act of 1974 (5 U.S.C. 552a); outside the scope of the information sharing agreements'),
    ('USC', 'withhold', 'none',
     'Privacy Act of 1974 (5 U.S.C. 552a); outside the scope of the information sharing agreements'),
]


def create_default_rules(apps, schema_editor):
    from django.utils import timezone

    RuleSet = apps.get_model("disclosure", "RuleSet")
    Rule = apps.get_model("disclosure", "Rule")
    if RuleSet.objects.exists():
        return
    rs = RuleSet.objects.create(version=1, is_active=True, published_at=timezone.now(),
                                note="Defaults: 8 U.S.C. 1367 withhold; 8 CFR 208.6 withhold unless consent or authorisation; "
                                     "U.S. citizens and LPRs withhold")
    Rule.objects.bulk_create(Rule(ruleset=rs, protected_class=c, action=a, exception=e, citation=t) for c, a, e, t in RULES_V1)


class Migration(migrations.Migration):
    dependencies = [("disclosure", "0002_initial")]
    operations = [migrations.RunPython(create_default_rules, migrations.RunPython.noop)]
