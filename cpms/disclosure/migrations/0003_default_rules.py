from django.db import migrations


def create_default_rules(apps, schema_editor):
    from django.utils import timezone

    from cpms.disclosure.defaults import default_rules

    RuleSet = apps.get_model("disclosure", "RuleSet")
    Rule = apps.get_model("disclosure", "Rule")
    if RuleSet.objects.exists():
        return
    rs = RuleSet.objects.create(version=1, is_active=True, published_at=timezone.now(),
                                note="Defaults: 8 U.S.C. 1367 withhold; 8 CFR 208.6 withhold unless consent or authorisation; "
                                     "U.S. citizens and LPRs withhold")
    Rule.objects.bulk_create(Rule(ruleset=rs, **r) for r in default_rules())


class Migration(migrations.Migration):
    dependencies = [("disclosure", "0002_initial")]
    operations = [migrations.RunPython(create_default_rules, migrations.RunPython.noop)]
