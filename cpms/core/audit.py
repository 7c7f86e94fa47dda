"""django-auditlog on every model that holds personal data (who, what, when, before and after)."""

from auditlog.registry import auditlog

from .models import Agreement, BenefitCase, Partner, Person

auditlog.register(Person)
auditlog.register(BenefitCase, m2m_fields={"assigned_officers"})
auditlog.register(Partner)
auditlog.register(Agreement)
