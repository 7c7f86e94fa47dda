from auditlog.registry import auditlog

from .models import FdnsReferral, InternationalQuery, InternationalQueryUserObjectPermission, Match, PartnerResponse, QueryRound, ResponseAttachment

auditlog.register(InternationalQuery)
auditlog.register(QueryRound)
auditlog.register(Match)
auditlog.register(PartnerResponse)
auditlog.register(ResponseAttachment)
auditlog.register(FdnsReferral)
auditlog.register(InternationalQueryUserObjectPermission)
