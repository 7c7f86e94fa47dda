"""The partner request's arrival on the case itself, so the work queue can sort by it on an index."""

from django.db import migrations, models


def copy_received(apps, schema_editor):
    IctsCase = apps.get_model("icts", "IctsCase")
    PartnerRequest = apps.get_model("partner_requests", "PartnerRequest")
    received = models.Subquery(PartnerRequest.objects.filter(pk=models.OuterRef("partner_request_id")).values("received_at")[:1])
    IctsCase.objects.update(received_at=received)


class Migration(migrations.Migration):
    dependencies = [
        ("icts", "0003_case_object_grants"),
        ("partner_requests", "0001_initial"),
    ]

    operations = [
        migrations.AddField(model_name="ictscase", name="received_at", field=models.DateTimeField(null=True)),
        migrations.RunPython(copy_received, migrations.RunPython.noop),
        migrations.AlterField(model_name="ictscase", name="received_at", field=models.DateTimeField()),
        migrations.AddIndex(model_name="ictscase", index=models.Index(fields=["due_at", "id"], name="icts_due_idx")),
        migrations.AddIndex(model_name="ictscase", index=models.Index(fields=["received_at", "id"], name="icts_received_idx")),
    ]
