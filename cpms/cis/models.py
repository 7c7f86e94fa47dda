"""The local CIS index: the default PCQS implementation, edited by administrators in the admin."""

from django.db import models

from .classes import ApplicationStatus, ProtectedClass


class CisRecord(models.Model):
    """What CIS knows about one A-Number. `complete=False` models a CIS answer PCQS marks incomplete."""

    a_number = models.CharField("A-Number", max_length=10, unique=True)
    complete = models.BooleanField(default=True, help_text="Untick to make PCQS answer 'incomplete' for this person")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "CIS record"

    def __str__(self) -> str:
        return self.a_number


class CisClassEntry(models.Model):
    record = models.ForeignKey(CisRecord, on_delete=models.CASCADE, related_name="classes")
    protected_class = models.CharField(max_length=20, choices=ProtectedClass.choices)
    application_status = models.CharField(max_length=10, choices=ApplicationStatus.choices, default=ApplicationStatus.GRANTED)
    appeals_exhausted = models.BooleanField(default=False, help_text="For a denied application: CIS says all appeals are exhausted")
    consent_partners = models.JSONField(default=list, blank=True,
                                        help_text="Partners (alpha-3) for which the applicant's written consent is on file")
    feared_countries = models.JSONField(default=list, blank=True,
                                        help_text="Countries (alpha-3) where the person claims to fear persecution")

    class Meta:
        verbose_name = "CIS class entry"
        verbose_name_plural = "CIS class entries"
