"""A partner's attachment keeps two digests: the partner's (ICD §7, of the bytes as received) and CPMS's copy's (an
image re-encoded from its pixels). Rows stored before this kept the bytes as received: both digests are the same."""

from django.db import migrations, models


def received_is_stored(apps, schema_editor):
    ResponseAttachment = apps.get_model("queries", "ResponseAttachment")
    ResponseAttachment.objects.update(received_sha256=models.F("sha256"))


class Migration(migrations.Migration):
    dependencies = [("queries", "0004_internationalquery_encounter_id_and_more")]

    operations = [
        migrations.AddField(model_name="responseattachment", name="received_sha256",
                            field=models.CharField(default="", max_length=64), preserve_default=False),
        migrations.RunPython(received_is_stored, migrations.RunPython.noop),
    ]
