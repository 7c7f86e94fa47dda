"""Protected classes that CIS records, with the law that protects each (PIA footnote 10)."""

from django.db import models


class ProtectedClass(models.TextChoices):
    T = "T", "T nonimmigrant (trafficking victim)"
    T_DERIVATIVE = "T_DERIVATIVE", "T derivative"
    U = "U", "U nonimmigrant (crime victim)"
    U_DERIVATIVE = "U_DERIVATIVE", "U derivative"
    VAWA = "VAWA", "VAWA self-petitioner"
    VAWA_DERIVATIVE = "VAWA_DERIVATIVE", "VAWA derivative"
    ASYLUM = "ASYLUM", "Asylum applicant or asylee"
    REFUGEE = "REFUGEE", "Refugee"
    WITHHOLDING = "WITHHOLDING", "Withholding of removal"
    CAT = "CAT", "Convention Against Torture protection"
    CREDIBLE_FEAR = "CREDIBLE_FEAR", "Credible fear determination"
    REASONABLE_FEAR = "REASONABLE_FEAR", "Reasonable fear determination"
    USC = "USC", "U.S. citizen"
    LPR = "LPR", "Lawful permanent resident"


PC = ProtectedClass
# 8 U.S.C. 1367: no disclosure of information relating to T, U and VAWA beneficiaries; no foreign-government exception.
SECTION_1367 = frozenset({PC.T, PC.T_DERIVATIVE, PC.U, PC.U_DERIVATIVE, PC.VAWA, PC.VAWA_DERIVATIVE})
# 8 CFR 208.6 (and DHS policy for refugees, withholding, CAT, credible and reasonable fear).
ASYLUM_RELATED = frozenset({PC.ASYLUM, PC.REFUGEE, PC.WITHHOLDING, PC.CAT, PC.CREDIBLE_FEAR, PC.REASONABLE_FEAR})
US_PERSONS = frozenset({PC.USC, PC.LPR})

LEGAL_BASIS = {
    **{c: "8 U.S.C. 1367" for c in SECTION_1367},
    PC.ASYLUM: "8 CFR 208.6",
    PC.REFUGEE: "8 CFR 208.6 (applied to refugees by DHS policy)",
    PC.WITHHOLDING: "8 CFR 208.6",
    PC.CAT: "8 CFR 208.6",
    PC.CREDIBLE_FEAR: "8 CFR 208.6",
    PC.REASONABLE_FEAR: "8 CFR 208.6",
    PC.USC: "Privacy Act of 1974 (5 U.S.C. 552a); outside the scope of the information sharing agreements",
    PC.LPR: "Privacy Act of 1974 (5 U.S.C. 552a); outside the scope of the information sharing agreements",
}


class ApplicationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    GRANTED = "granted", "Granted"
    DENIED = "denied", "Denied"


# A person's immigration status in words, from what CIS holds: for the response to a partner that asks for it. Never
# for the classes of 8 U.S.C. 1367 (a request about such a person is never shared, and no form may be filled with it).
GRANTED_STATUS = {
    PC.USC: "U.S. citizen",
    PC.LPR: "Lawful permanent resident",
    PC.ASYLUM: "Asylee",
    PC.REFUGEE: "Refugee",
    PC.WITHHOLDING: "Withholding of removal granted",
    PC.CAT: "Protection under the Convention Against Torture",
    PC.CREDIBLE_FEAR: "Credible fear found",
    PC.REASONABLE_FEAR: "Reasonable fear found",
}
STATUS_ORDER = [PC.USC, PC.LPR, PC.ASYLUM, PC.REFUGEE, PC.WITHHOLDING, PC.CAT, PC.CREDIBLE_FEAR, PC.REASONABLE_FEAR]


def immigration_status_words(answer: dict | None) -> str:
    """CIS's answer (as kept with a decision) as an immigration status: "Asylee", or "Asylum applicant or asylee
    (pending)". Empty when CIS knows nothing to say, its answer is incomplete, or a 1367 class is held."""
    if not answer or not answer.get("known") or not answer.get("complete"):
        return ""
    held = {c.get("protected_class"): c.get("application_status") for c in answer.get("classes") or []}
    if set(held) & SECTION_1367:
        return ""
    labels, statuses = dict(ProtectedClass.choices), dict(ApplicationStatus.choices)
    words = [GRANTED_STATUS[c] if held[c] == ApplicationStatus.GRANTED else f"{labels[c]} ({statuses.get(held[c], held[c]).lower()})"
             for c in STATUS_ORDER if c in held]
    return "; ".join(words)
