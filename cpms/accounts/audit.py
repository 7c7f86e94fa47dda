from auditlog.registry import auditlog
from axes.models import AccessAttempt

# An administrator's unlock deletes the attempts: on record with who did it (auditlog's middleware sets the actor).
auditlog.register(AccessAttempt)
