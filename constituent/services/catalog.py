"""Reference data every office starts with: categories and a realistic agency directory."""

from __future__ import annotations

CATEGORIES: list[tuple[str, str]] = [
    ("Social Security", "Retirement, disability (SSDI), SSI and survivor benefits"),
    ("Veterans", "VA disability claims, pensions, health care, records"),
    ("Immigration", "Visas, green cards, naturalization, asylum"),
    ("IRS", "Refunds, notices, identity theft, payment plans"),
    ("Medicare/Medicaid", "Enrollment, coverage denials, billing"),
    ("Housing", "Evictions, vouchers, public housing, repairs"),
    ("Unemployment", "Claims, appeals, overpayments"),
    ("Passports", "Expedited passports, lost or delayed applications"),
    ("Child welfare", "Child protective services, foster care, custody"),
    ("Substance use", "Treatment beds, recovery services"),
    ("Domestic violence", "Shelter, protective orders, safety planning"),
    ("Health care", "Insurance, access to care, prescriptions"),
    ("Utilities", "Shut-offs, billing disputes, heating assistance"),
    ("Federal retirement", "OPM annuities and survivor benefits"),
    ("Mail delivery", "USPS delivery problems and lost mail"),
    ("Disaster assistance", "FEMA claims and recovery aid"),
    ("Student aid", "Federal student loans and forgiveness"),
    ("Small business", "SBA loans and disaster loans"),
    ("Labor", "Wage claims, workplace safety, benefits"),
    ("Motor vehicles", "Licences, registrations, suspensions"),
]

# name, acronym, level, expected response days, website, categories, contacts
AGENCIES: list[
    tuple[str, str | None, str, int, str, list[str], list[tuple[str, str, str, str]]]
] = [
    (
        "Social Security Administration",
        "SSA",
        "federal",
        30,
        "https://www.ssa.gov",
        ["Social Security"],
        [("Dana Whitfield", "Congressional Liaison", "liaison@ssa.example.gov", "(212) 555-0110")],
    ),
    (
        "Department of Veterans Affairs",
        "VA",
        "federal",
        30,
        "https://www.va.gov",
        ["Veterans"],
        [
            (
                "Marcus Leone",
                "Congressional Relations Officer",
                "congressional@va.example.gov",
                "(202) 555-0121",
            )
        ],
    ),
    (
        "IRS Taxpayer Advocate Service",
        "TAS",
        "federal",
        21,
        "https://www.taxpayeradvocate.irs.gov",
        ["IRS"],
        [("Helen Cho", "Local Taxpayer Advocate", "tas.albany@irs.example.gov", "(518) 555-0132")],
    ),
    (
        "U.S. Citizenship and Immigration Services",
        "USCIS",
        "federal",
        45,
        "https://www.uscis.gov",
        ["Immigration"],
        [("Priya Raman", "Congressional Liaison", "liaison@uscis.example.gov", "(202) 555-0143")],
    ),
    (
        "Department of State, Passport Agency",
        "DOS",
        "federal",
        10,
        "https://travel.state.gov",
        ["Passports"],
        [
            (
                "Owen Gallagher",
                "Congressional Liaison",
                "passportcongressional@state.example.gov",
                "(202) 555-0154",
            )
        ],
    ),
    (
        "Centers for Medicare & Medicaid Services",
        "CMS",
        "federal",
        30,
        "https://www.cms.gov",
        ["Medicare/Medicaid", "Health care"],
        [("Rosa Delgado", "Regional Liaison", "ro2liaison@cms.example.gov", "(212) 555-0165")],
    ),
    (
        "Office of Personnel Management, Retirement Services",
        "OPM",
        "federal",
        45,
        "https://www.opm.gov",
        ["Federal retirement"],
        [
            (
                "Gregory Baines",
                "Congressional Liaison",
                "retire.liaison@opm.example.gov",
                "(724) 555-0176",
            )
        ],
    ),
    (
        "United States Postal Service",
        "USPS",
        "federal",
        14,
        "https://www.usps.com",
        ["Mail delivery"],
        [
            (
                "Tina Morales",
                "Consumer Affairs Manager",
                "consumeraffairs@usps.example.gov",
                "(518) 555-0187",
            )
        ],
    ),
    (
        "Federal Emergency Management Agency",
        "FEMA",
        "federal",
        30,
        "https://www.fema.gov",
        ["Disaster assistance"],
        [
            (
                "Luis Ortega",
                "Congressional Affairs",
                "congressional@fema.example.gov",
                "(202) 555-0198",
            )
        ],
    ),
    (
        "Department of Housing and Urban Development",
        "HUD",
        "federal",
        30,
        "https://www.hud.gov",
        ["Housing"],
        [
            (
                "Angela Price",
                "Field Office Liaison",
                "buffalo.field@hud.example.gov",
                "(716) 555-0109",
            )
        ],
    ),
    (
        "Department of Labor",
        "DOL",
        "federal",
        30,
        "https://www.dol.gov",
        ["Labor"],
        [("Samuel Fitch", "Congressional Liaison", "liaison@dol.example.gov", "(202) 555-0111")],
    ),
    (
        "Small Business Administration",
        "SBA",
        "federal",
        21,
        "https://www.sba.gov",
        ["Small business"],
        [("Nora Quinlan", "District Director", "syracuse@sba.example.gov", "(315) 555-0122")],
    ),
    (
        "Federal Student Aid",
        "FSA",
        "federal",
        30,
        "https://studentaid.gov",
        ["Student aid"],
        [("Kevin Marsh", "Congressional Liaison", "fsa.liaison@ed.example.gov", "(202) 555-0133")],
    ),
    (
        "New York State Department of Health, Medicaid",
        "NYSDOH",
        "state",
        21,
        "https://www.health.ny.gov",
        ["Medicare/Medicaid", "Health care"],
        [
            (
                "Beth Larkin",
                "Legislative Liaison",
                "medicaid.liaison@health.example.ny.gov",
                "(518) 555-0144",
            )
        ],
    ),
    (
        "New York State Department of Labor, Unemployment Insurance",
        "NYSDOL",
        "state",
        14,
        "https://dol.ny.gov",
        ["Unemployment"],
        [
            (
                "Carlos Vega",
                "Legislative Affairs",
                "ui.legislative@labor.example.ny.gov",
                "(518) 555-0155",
            )
        ],
    ),
    (
        "New York State Department of Motor Vehicles",
        "DMV",
        "state",
        14,
        "https://dmv.ny.gov",
        ["Motor vehicles"],
        [
            (
                "Janet Hurley",
                "Government Liaison",
                "legislative@dmv.example.ny.gov",
                "(518) 555-0166",
            )
        ],
    ),
    (
        "Office of Children and Family Services, Child Protective Services",
        "OCFS",
        "state",
        7,
        "https://ocfs.ny.gov",
        ["Child welfare"],
        [
            (
                "Mira Patel",
                "Legislative Liaison",
                "cps.liaison@ocfs.example.ny.gov",
                "(518) 555-0177",
            )
        ],
    ),
    (
        "New York State Homes and Community Renewal",
        "HCR",
        "state",
        21,
        "https://hcr.ny.gov",
        ["Housing", "Utilities"],
        [
            (
                "Derek Olsen",
                "Constituent Services",
                "constituent@hcr.example.ny.gov",
                "(518) 555-0188",
            )
        ],
    ),
    (
        "Regional Food Bank of Northeastern New York",
        None,
        "nonprofit",
        7,
        "https://regionalfoodbank.example.org",
        ["Health care"],
        [("Patty Ng", "Agency Relations", "agencies@foodbank.example.org", "(518) 555-0199")],
    ),
    (
        "Safe Harbor Domestic Violence Shelter",
        None,
        "nonprofit",
        2,
        "https://safeharbor.example.org",
        ["Domestic violence"],
        [
            (
                "Alicia Booker",
                "Advocate Supervisor",
                "intake@safeharbor.example.org",
                "(518) 555-0100",
            )
        ],
    ),
    (
        "North Country Recovery Center",
        None,
        "nonprofit",
        3,
        "https://ncrecovery.example.org",
        ["Substance use"],
        [
            (
                "Tom Reilly",
                "Admissions Coordinator",
                "admissions@ncrecovery.example.org",
                "(315) 555-0101",
            )
        ],
    ),
    (
        "Legal Aid Society of Northeastern New York",
        "LASNNY",
        "nonprofit",
        14,
        "https://lasnny.example.org",
        ["Housing", "Unemployment", "Immigration"],
        [("Grace Fulton", "Intake Attorney", "intake@lasnny.example.org", "(518) 555-0102")],
    ),
]
