"""The accounting tells what became of each message (issue 17): when it was queued, and its delivery outcome. Existing
entries take the outcome their outbox message shows today, and IDENT's acceptance as their date where it is known."""

from django.db import migrations, models


def from_the_outbox(apps, schema_editor):
    DisclosureRecord = apps.get_model("disclosure", "DisclosureRecord")
    for record in DisclosureRecord.objects.select_related("outbox_message").iterator(chunk_size=2000):
        message = record.outbox_message
        record.queued_at = record.disclosed_at
        if message.delivery_status == "rejected":
            record.delivery, record.delivery_detail = "rejected", message.delivery_detail[:1000]
        elif message.status == "sent":
            record.delivery = "delivered"
            record.disclosed_at = message.sent_at or record.disclosed_at
        elif message.status == "rejected":
            record.delivery, record.delivery_detail = "refused", message.last_error[:1000]
        elif message.status == "expired":
            record.delivery, record.delivery_detail = "expired", message.last_error[:1000]
        record.delivery_at = message.delivery_at or message.sent_at if record.delivery != "pending" else None
        record.save(update_fields=["queued_at", "delivery", "delivery_detail", "disclosed_at", "delivery_at"])


class Migration(migrations.Migration):
    dependencies = [("disclosure", "0005_query_direction_rules"), ("ident_bridge", "__latest__")]

    operations = [
        migrations.AddField("disclosurerecord", "queued_at",
                            models.DateTimeField(null=True, help_text="when the message was written to the outbox")),
        migrations.AddField("disclosurerecord", "delivery", models.CharField(
            max_length=10, default="pending", choices=[
                ("pending", "Not disclosed yet: waiting for IDENT to accept it"),
                ("delivered", "Disclosed: IDENT accepted it for the partner"),
                ("refused", "Not disclosed: IDENT refused the message"),
                ("rejected", "Not disclosed: the partner rejected the message"),
                ("expired", "Not disclosed: IDENT could not be reached before the retries ran out")])),
        migrations.AddField("disclosurerecord", "delivery_at", models.DateTimeField(
            null=True, blank=True, help_text="when the delivery outcome was learnt")),
        migrations.AddField("disclosurerecord", "delivery_detail", models.CharField(
            max_length=1000, blank=True, help_text="IDENT's or the partner's reason")),
        migrations.AlterField("disclosurerecord", "disclosed_at", models.DateTimeField(
            help_text="IDENT's acceptance; until then, when the message was queued")),
        migrations.RunPython(from_the_outbox, migrations.RunPython.noop),
        migrations.AlterField("disclosurerecord", "queued_at",
                              models.DateTimeField(help_text="when the message was written to the outbox")),
    ]
