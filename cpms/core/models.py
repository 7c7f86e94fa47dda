"""People, benefit cases, foreign partners and their agreements: the USCIS side of every exchange."""

from __future__ import annotations

import calendar
import re
import unicodedata
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

# NARA Disposition Authority DAA-0563-2013-0001-0005: records are kept 100 years from the date of birth.
RETENTION_YEARS_FROM_BIRTH = 100

A_NUMBER_RE = re.compile(r"^A?(\d{7,9})$")
FIN_RE = re.compile(r"^[A-Z0-9]{10,16}$")
COUNTRY_RE = re.compile(r"^[A-Z]{3}$")


def normalise_a_number(value: str) -> str:
    """ICD §4: `A` + 9 digits; 7 and 8 digit forms are left-padded with zeros."""
    cleaned = re.sub(r"[\s-]", "", value or "").upper()
    match = A_NUMBER_RE.match(cleaned)
    if not match:
        raise ValidationError("An A-Number is A followed by 7 to 9 digits, for example A012345678.")
    return "A" + match.group(1).zfill(9)


def nfc(value: str) -> str:
    """Names in any script are stored exactly as received, NFC-normalised (ICD §5)."""
    return unicodedata.normalize("NFC", value or "")


class Gender(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    X = "x", "X"
    UNKNOWN = "unknown", "Unknown"


class Person(models.Model):
    """The person-centric record. Date of birth may be partial (year, or year and month)."""

    a_number = models.CharField("A-Number", max_length=10, unique=True, null=True, blank=True)
    fin = models.CharField("FIN", max_length=16, unique=True, null=True, blank=True, help_text="IDENT Fingerprint Identification Number")
    family_name = models.CharField(max_length=200)
    given_names = models.CharField(max_length=200, blank=True)
    aliases = models.JSONField(default=list, blank=True, help_text='List of {"family_name": ..., "given_names": ...}')
    dob_year = models.PositiveSmallIntegerField("year of birth", null=True, blank=True)
    dob_month = models.PositiveSmallIntegerField("month of birth", null=True, blank=True)
    dob_day = models.PositiveSmallIntegerField("day of birth", null=True, blank=True)
    country_of_birth = models.CharField(max_length=3, blank=True)
    citizenships = models.JSONField(default=list, blank=True, help_text="ISO 3166-1 alpha-3 codes")
    gender = models.CharField(max_length=8, choices=Gender.choices, default=Gender.UNKNOWN)
    retain_until = models.DateField(null=True, blank=True, editable=False, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["family_name", "given_names"])]
        constraints = [
            models.CheckConstraint(condition=Q(dob_month__isnull=True) | Q(dob_year__isnull=False), name="person_dob_month_needs_year"),
            models.CheckConstraint(condition=Q(dob_day__isnull=True) | Q(dob_month__isnull=False), name="person_dob_day_needs_month"),
        ]

    def __str__(self) -> str:
        return f"{self.family_name}, {self.given_names}".strip(", ")

    @property
    def date_of_birth(self) -> str:
        """ICD partial date: YYYY, YYYY-MM or YYYY-MM-DD ('' when unknown)."""
        if not self.dob_year:
            return ""
        out = f"{self.dob_year:04d}"
        if self.dob_month:
            out += f"-{self.dob_month:02d}"
            if self.dob_day:
                out += f"-{self.dob_day:02d}"
        return out

    def clean(self):
        errors = {}
        if self.a_number:
            try:
                self.a_number = normalise_a_number(self.a_number)
            except ValidationError as exc:
                errors["a_number"] = exc.messages
        if self.fin and not FIN_RE.match(self.fin):
            errors["fin"] = "A FIN is 10 to 16 upper-case letters or digits."
        if self.country_of_birth and not COUNTRY_RE.match(self.country_of_birth):
            errors["country_of_birth"] = "Use the ISO 3166-1 alpha-3 code, for example SYR."
        if self.dob_year and self.dob_month and self.dob_day:
            try:
                date(self.dob_year, self.dob_month, self.dob_day)
            except ValueError:
                errors["dob_day"] = "That day does not exist in that month."
        if errors:
            raise ValidationError(errors)

    def compute_retain_until(self) -> date | None:
        """100 years from birth. With a partial date, the latest date it could be, so nothing goes early."""
        if not self.dob_year:
            return None
        year = self.dob_year + RETENTION_YEARS_FROM_BIRTH
        month = self.dob_month or 12
        day = self.dob_day or calendar.monthrange(year, month)[1]
        return date(year, month, min(day, calendar.monthrange(year, month)[1]))

    def save(self, *args, **kwargs):
        self.family_name = nfc(self.family_name)
        self.given_names = nfc(self.given_names)
        self.retain_until = self.compute_retain_until()
        super().save(*args, **kwargs)
        PersonNameKey.sync(self)

    def name_keys(self) -> set[str]:
        """Every form a search may start with: family then given names, and given then family, for the name and each
        alias, folded (diacritics removed, other scripts transliterated): `nguyen thi minh`, `petrenko oleg`."""
        names = [(self.family_name, self.given_names)] + [(a.get("family_name", ""), a.get("given_names", ""))
                                                          for a in self.aliases or [] if isinstance(a, dict)]
        keys = set()
        for family, given in names:
            for ordered in (f"{family} {given}", f"{given} {family}"):
                key = fold_for_search(ordered)
                if key:
                    keys.add(key[:200])
        return keys


def fold_for_search(value: str) -> str:
    """Lower-case Latin letters and digits separated by single spaces: diacritics folded (Nguyễn → nguyen), other
    scripts transliterated (Петренко → petrenko, 李伟 → li wei)."""
    from anyascii import anyascii

    decomposed = unicodedata.normalize("NFKD", value or "")
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.split(r"[^0-9a-z]+", anyascii(stripped).casefold())).strip()


class PersonNameKey(models.Model):
    """A person's folded name forms, one row each, so a search by any of them is an index range scan at any size."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="name_key_rows")
    key = models.CharField(max_length=200)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["person", "key"], name="person_name_key_unique")]
        indexes = [models.Index(fields=["key"], name="person_name_key_prefix_idx", opclasses=["varchar_pattern_ops"])]

    @classmethod
    def sync(cls, person: Person) -> None:
        wanted = person.name_keys()
        have = set(cls.objects.filter(person=person).values_list("key", flat=True))
        cls.objects.filter(person=person, key__in=have - wanted).delete()
        cls.objects.bulk_create([cls(person=person, key=k) for k in sorted(wanted - have)])


class CaseKind(models.TextChoices):
    ASYLUM = "asylum", "Asylum"
    REFUGEE = "refugee", "Refugee"


# Milliseconds since 1970 stay below 2**41 until 2039; the flags and ranks above them sort first.
OPEN_CASE_BIT = 1 << 42
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def epoch_ms(moment: datetime) -> int:
    """Whole milliseconds since 1970, exactly (no float rounding): PostgreSQL's floor(extract(epoch) * 1000)."""
    return (moment - _EPOCH) // timedelta(milliseconds=1)


class BenefitCase(models.Model):
    """An asylum or refugee case; the officers assigned to it may query partners about its person."""

    receipt_number = models.CharField(max_length=13, unique=True, help_text="e.g. ZAR2612345678")
    kind = models.CharField(max_length=10, choices=CaseKind.choices)
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="cases")
    assigned_officers = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="assigned_cases", blank=True)
    is_open = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.receipt_number

    def grant_sort_key(self, codename: str = "") -> int:
        """My cases' order, newest first with open cases before closed ones, as one integer (sorted descending)."""
        return (OPEN_CASE_BIT if self.is_open else 0) + epoch_ms(self.created_at)


# Object grants (django-guardian) on cases, with a real foreign key: the grant dies with its case, so a new
# case that reuses a deleted one's id never inherits its grants, and lists join on an integer index instead
# of guardian's generic varchar object_pk. Granted and revoked only by cpms.core.permissions.
#
# sort_key copies the work queue's order into the grant row (see BenefitCase.grant_sort_key), so that a page of a
# user's cases is one range scan of the index (user, permission, sort_key, object) that stops after 50 rows,
# whether the user holds 20 grants or 100,000 (bench/queues.py measures it).
class SortedGrant(models.Model):
    sort_key = models.BigIntegerField(default=0, help_text="the object's place in its work queue (grant_sort_key)")

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        # An invariant of the row: guardian's assign_perm creates grants without knowing about the sort key.
        self.sort_key = self.content_object.grant_sort_key(self.permission.codename)
        super().save(*args, **kwargs)


class BenefitCaseUserObjectPermission(SortedGrant, UserObjectPermissionBase):
    content_object = models.ForeignKey(BenefitCase, on_delete=models.CASCADE, related_name="user_grants")

    class Meta(UserObjectPermissionBase.Meta):
        indexes = [models.Index(fields=["user", "permission", "-sort_key", "-content_object"], name="case_user_grant_page_idx")]


class BenefitCaseGroupObjectPermission(SortedGrant, GroupObjectPermissionBase):
    content_object = models.ForeignKey(BenefitCase, on_delete=models.CASCADE, related_name="group_grants")

    class Meta(GroupObjectPermissionBase.Meta):
        indexes = [models.Index(fields=["group", "permission", "-sort_key", "-content_object"], name="case_group_grant_page_idx")]


class Partner(models.Model):
    """A foreign partner, reached only through IDENT."""

    code = models.CharField(max_length=3, primary_key=True, help_text="ISO 3166-1 alpha-3 (ICD §2)")
    name = models.CharField(max_length=100)

    def __str__(self) -> str:
        return self.name


class AgreementQuerySet(models.QuerySet):
    def active(self, on: date | None = None):
        """The published versions in force on a day (today by default)."""
        today = on or timezone.localdate()
        return self.filter(status=Agreement.Status.PUBLISHED, is_active=True, effective_from__lte=today).filter(
            Q(effective_to__isnull=True) | Q(effective_to__gte=today)
        )


class Agreement(models.Model):
    """One version of an information-sharing agreement (PIA Appendix A): what it lets flow, in which direction.

    A published version is never edited: a change is a new version (draft → in review → published) with its own
    effective dates, data set, attachment kinds, directions and authority; publishing it ends the one it supersedes the
    day before it starts. Every disclosure points at the version in force when it left.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        IN_REVIEW = "in_review", "In review"
        PUBLISHED = "published", "Published"

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="agreements")
    title = models.CharField(max_length=500)
    appendix_a_ref = models.CharField("Appendix A item", max_length=20, blank=True)
    version = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    supersedes = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    change_note = models.CharField(max_length=500, blank=True, help_text="What this version changes and why")
    signed_on = models.DateField(null=True, blank=True)
    effective_from = models.DateField()
    effective_to = models.DateField(null=True, blank=True)
    is_active = models.BooleanField(default=True, help_text="Off: recorded but not in force for CPMS exchanges")
    allows_uscis_queries = models.BooleanField(default=False, help_text="USCIS may query this partner (our queries)")
    allows_partner_requests = models.BooleanField(default=False, help_text="The partner may request information from USCIS")
    authorised_data_elements = models.JSONField(default=list, blank=True, help_text="ICD §6 person elements a response may carry")
    authorised_attachment_kinds = models.JSONField(default=list, blank=True, help_text="ICD §7 attachment kinds a response may carry")
    # Secretary's written authorisation to disclose asylum-related information to FCC participants
    # (Appendix A items 5 and 8; 8 CFR 208.6). Used by the disclosure rules in both directions.
    asylum_disclosure_authorised = models.BooleanField(default=False)
    legal_authority = models.CharField(max_length=500, blank=True)
    drafted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    published_at = models.DateTimeField(null=True, blank=True)

    objects = AgreementQuerySet.as_manager()

    class Meta:
        ordering = ["partner_id", "appendix_a_ref", "version"]
        indexes = [models.Index(fields=["partner", "status", "is_active", "effective_from"])]
        constraints = [models.UniqueConstraint(fields=["partner", "appendix_a_ref", "version"], name="agreement_unique_version")]

    def __str__(self) -> str:
        return f"{self.partner_id}: {self.title[:80]} (v{self.version})"

    @property
    def label(self) -> str:
        """How the accounting names it: title, Appendix A item and version."""
        item = f"Appendix A item {self.appendix_a_ref}, " if self.appendix_a_ref else ""
        return f"{self.title} ({item}version {self.version})"

    def clean(self):
        from ident_bridge.icd import ATTACHMENT_KINDS, PERSON_ELEMENTS

        errors = {}
        unknown = sorted(set(self.authorised_data_elements or []) - set(PERSON_ELEMENTS))
        if unknown:
            errors["authorised_data_elements"] = f"Not ICD §6 data elements: {', '.join(unknown)}."
        unknown = sorted(set(self.authorised_attachment_kinds or []) - set(ATTACHMENT_KINDS))
        if unknown:
            errors["authorised_attachment_kinds"] = f"Not ICD §7 attachment kinds: {', '.join(unknown)}."
        if self.effective_to and self.effective_to < self.effective_from:
            errors["effective_to"] = "The end date is before the start date."
        if errors:
            raise ValidationError(errors)


class Notification(models.Model):
    """Something a person should look at: a partner's answer arrived, a round is overdue, a send failed."""

    class Kind(models.TextChoices):
        RESPONSE = "response", "Partner answer arrived"
        OVERDUE = "overdue", "Round overdue"
        FAILED = "failed", "Message rejected"
        ACTION = "action", "Needs your action"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    message = models.CharField(max_length=300)
    query = models.ForeignKey("queries.InternationalQuery", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    url = models.CharField(max_length=200, blank=True, help_text="where to look (for notifications not about a query)")
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "read_at", "-created_at"])]
