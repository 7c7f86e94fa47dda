"""django-auditlog on every model that holds personal data (who, what, when, before and after)."""

from auditlog.registry import auditlog

from .models import Agreement, BenefitCase, BenefitCaseGroupObjectPermission, BenefitCaseUserObjectPermission, Partner, Person

auditlog.register(Person)
auditlog.register(BenefitCase, m2m_fields={"assigned_officers"})
auditlog.register(Partner)
auditlog.register(Agreement)
# Who was granted or lost access to what (the grants are made by the workflow; auditlog records each).
auditlog.register(BenefitCaseUserObjectPermission)
auditlog.register(BenefitCaseGroupObjectPermission)
