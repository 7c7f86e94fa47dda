"""Demo people and cases (docs/demo-data.md). Their FINs match the simulator's galleries."""

DEMO_PASSWORD = "cpms-demo-2026"

USERS = [
    # username, role (group), first, last, email
    ("officer", "officer", "Olivia", "Ortiz", "olivia.ortiz@uscis.example.gov"),
    ("officer2", "officer", "Owen", "Park", "owen.park@uscis.example.gov"),
    ("supervisor", "supervisor", "Sara", "Lindqvist", "sara.lindqvist@uscis.example.gov"),
    ("icts_analyst", "icts_analyst", "Ian", "Chen", "ian.chen@uscis.example.gov"),
    ("icts_reviewer", "icts_reviewer", "Rita", "Moreno", "rita.moreno@uscis.example.gov"),
    ("obim_analyst", "obim_analyst", "Omar", "Bell", "omar.bell@obim.example.gov"),
    ("fdns_analyst", "fdns_analyst", "Fay", "Dunn", "fay.dunn@uscis.example.gov"),
    ("privacy_officer", "privacy_officer", "Priya", "Shah", "priya.shah@uscis.example.gov"),
    ("admin", "admin", "Alex", "Admin", "alex.admin@uscis.example.gov"),
]

PEOPLE = [
    # receipt, kind, assigned to, person fields
    ("ZAR2690000001", "asylum", "officer", dict(
        fin="FIN1000000001", a_number="A201000001", family_name="Haddad", given_names="Amal",
        dob=(1985, 4, 12), country_of_birth="SYR", citizenships=["SYR"], gender="female")),
    ("ZRF2690000002", "refugee", "officer", dict(
        fin="FIN1000000002", a_number="A201000002", family_name="Nguyễn", given_names="Thị Minh",
        aliases=[{"family_name": "Nguyen", "given_names": "Thi Minh"}],
        dob=(1988, 7, 3), country_of_birth="VNM", citizenships=["VNM"], gender="female")),
    ("ZAR2690000003", "asylum", "officer", dict(
        fin="FIN1000000003", a_number="A201000003", family_name="Петренко", given_names="Олег",
        aliases=[{"family_name": "Petrenko", "given_names": "Oleg"}],
        dob=(1979, 5, None), country_of_birth="UKR", citizenships=["UKR"], gender="male")),
    ("ZAR2690000004", "asylum", "officer", dict(
        fin="FIN1000000004", a_number="A201000004", family_name="Mukendi", given_names="Jean-Baptiste",
        dob=(1990, 2, 14), country_of_birth="COD", citizenships=["COD"], gender="male")),
    ("ZRF2690000005", "refugee", "officer", dict(
        fin="FIN1000000005", a_number="A201000005", family_name="李", given_names="伟",
        aliases=[{"family_name": "Li", "given_names": "Wei"}],
        dob=(1992, 11, 30), country_of_birth="CHN", citizenships=["CHN"], gender="male")),
    ("ZAR2690000006", "asylum", "officer", dict(
        fin=None, a_number="A201000006", family_name="Rahimi", given_names="Farida",
        dob=(1995, None, None), country_of_birth="AFG", citizenships=["AFG"], gender="female")),
    ("ZAR2690000007", "asylum", "officer2", dict(
        fin="FIN1000000007", a_number="A201000007", family_name="Okafor", given_names="Chinedu",
        dob=(1983, 9, 9), country_of_birth="NGA", citizenships=["NGA"], gender="male")),
]

# People known to USCIS but without a case here: partners ask about them (docs/demo-data.md).
EXTRA_PEOPLE = [
    dict(fin="FIN1000000006", a_number="A201000008", family_name="Kowalski", given_names="Marta",
         dob=(1975, 3, 2), country_of_birth="POL", citizenships=["POL"], gender="female"),
    dict(fin="FIN1000000008", a_number="A201000009", family_name="Haidari", given_names="Yusuf",
         dob=(1999, 1, 20), country_of_birth="AFG", citizenships=["AFG"], gender="male"),
    dict(fin="FIN1000000009", a_number="A201000010", family_name="Santos", given_names="Lucía",
         dob=(1987, 6, 5), country_of_birth="HND", citizenships=["HND"], gender="female"),
]

# The local CIS index (PCQS answers from it): FIN → (complete?, [class entries]).
CIS = {
    "FIN1000000001": (True, [dict(protected_class="ASYLUM", application_status="pending", feared_countries=["SYR"])]),
    "FIN1000000002": (True, [dict(protected_class="REFUGEE", application_status="granted", feared_countries=["VNM"])]),
    "FIN1000000003": (True, [dict(protected_class="ASYLUM", application_status="pending"),
                             dict(protected_class="T", application_status="granted")]),
    "FIN1000000004": (True, [dict(protected_class="U", application_status="pending")]),
    "FIN1000000005": (True, [dict(protected_class="VAWA", application_status="granted")]),
    "FIN1000000006": (True, [dict(protected_class="LPR", application_status="granted")]),
    "FIN1000000007": (True, [dict(protected_class="ASYLUM", application_status="granted", feared_countries=["NGA", "AUS"])]),
    "FIN1000000008": (False, []),
    "FIN1000000009": (True, [dict(protected_class="U", application_status="denied", appeals_exhausted=True)]),
}


def demo_totp_key(username: str) -> str:
    """The demo users' authenticator secret (hex, as django-otp stores it): fixed, so that `scripts/demo_code.py` can
    print the current code without an app. Demo only: real users enrol their own at first sign-in."""
    import hashlib

    return hashlib.sha1(f"cpms-demo-totp:{username}".encode()).hexdigest()
