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
