"""`manage.py seed_demo`: roles, one user per role, partners/agreements and demo cases. Idempotent."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from cpms.cis.models import CisClassEntry, CisRecord
from django_otp.plugins.otp_totp.models import TOTPDevice

from cpms.disclosure.services import ruleset_ensure_default
from cpms.core.demo_data import CIS, DEMO_PASSWORD, EXTRA_PEOPLE, PEOPLE, USERS, demo_totp_key
from cpms.core.models import BenefitCase, Person
from cpms.core.reference_data import load_reference_data
from cpms.core.services import case_set_officers
from cpms.core.roles import Role, ensure_roles

class Command(BaseCommand):
    help = "Load demo data: roles, users (password in README), partners, agreements, people and cases."

    @transaction.atomic
    def handle(self, *args, **options):
        load_reference_data()
        ruleset_ensure_default()  # an emptied database has lost the rule sets its migrations made
        groups = ensure_roles()
        User = get_user_model()
        users = {}
        for username, role, first, last, email in USERS:
            user, created = User.objects.get_or_create(username=username, defaults={"first_name": first, "last_name": last, "email": email})
            if created:
                user.set_password(DEMO_PASSWORD)
            user.is_staff = role == Role.ADMIN
            user.save()
            user.groups.add(groups[role])
            users[username] = user
            # Pre-enrolled second factor (README: scripts/demo_code.py prints the current code).
            TOTPDevice.objects.get_or_create(user=user, name="Demo authenticator",
                                             defaults={"key": demo_totp_key(username), "confirmed": True})
        for receipt, kind, assignee, fields in PEOPLE:
            fields = dict(fields)
            year, month, day = fields.pop("dob")
            person, _ = Person.objects.get_or_create(
                a_number=fields["a_number"],
                defaults={**fields, "dob_year": year, "dob_month": month, "dob_day": day},
            )
            case, _ = BenefitCase.objects.get_or_create(receipt_number=receipt, defaults={"kind": kind, "person": person})
            case_set_officers(actor=None, case=case, officers=[users[assignee]])
        for fields in EXTRA_PEOPLE:
            fields = dict(fields)
            year, month, day = fields.pop("dob")
            Person.objects.get_or_create(a_number=fields["a_number"], defaults={**fields, "dob_year": year, "dob_month": month,
                                                                                "dob_day": day})
        for fin, (complete, entries) in CIS.items():
            person = Person.objects.get(fin=fin)
            record, created = CisRecord.objects.get_or_create(a_number=person.a_number, defaults={"complete": complete})
            if created:
                CisClassEntry.objects.bulk_create(CisClassEntry(record=record, **e) for e in entries)
        self.stdout.write(self.style.SUCCESS(
            f"Demo data ready: {len(USERS)} users (password {DEMO_PASSWORD!r}), {len(PEOPLE)} cases, "
            f"{len(CIS)} CIS records."
        ))
