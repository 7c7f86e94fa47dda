from django.db import models


class ChainVerification(models.Model):
    """The result of one run of verify_audit (the console shows the latest; runs are kept)."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    intact = models.BooleanField()
    links = models.PositiveBigIntegerField()
    problems = models.JSONField(default=list)
    triggered_by = models.CharField(max_length=150, blank=True)
    anchored = models.BooleanField(null=True, help_text="an anchor outside the database vouched for the end of the chain "
                                                        "(empty: a run from before this was kept)")

    class Meta:
        ordering = ["-at"]
