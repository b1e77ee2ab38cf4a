"""The demo office's public help form: a few public categories with a sentence in English and
Spanish, and privacy-release templates for the SSA, the VA, USCIS and the IRS, worded as the
congressional privacy release forms offices publish (Privacy Act of 1974, 5 U.S.C. 552a(b)),
so that ``flask demo`` shows a working /help. Called by ``services/demo.seed``."""

from __future__ import annotations

import sqlalchemy as sa

from constituent.extensions import db
from constituent.models import Agency, Category, ReleaseTemplate, ReleaseTemplateVersion

# Category name → (Spanish name, English sentence, Spanish sentence, identifiers asked for).
PUBLIC_CATEGORIES: dict[str, tuple[str, str, str, str]] = {
    "Social Security": (
        "Seguro Social",
        "Retirement, disability or SSI payments that are late, stopped or wrong.",
        "Pagos de jubilación, discapacidad o SSI que llegan tarde, se pararon o están mal.",
        "claim_number,ssn_last4",
    ),
    "Veterans": (
        "Veteranos",
        "VA disability claims, pensions, health care or military records.",
        "Reclamos de discapacidad del VA, pensiones, atención médica o archivos militares.",
        "claim_number,ssn_last4",
    ),
    "Immigration": (
        "Inmigración",
        "Visas, green cards, citizenship or a case that is taking too long.",
        "Visas, tarjetas verdes, ciudadanía o un caso que tarda demasiado.",
        "a_number,claim_number",
    ),
    "IRS": (
        "Impuestos (IRS)",
        "A tax refund that is late, a letter from the IRS, or identity theft.",
        "Un reembolso de impuestos atrasado, una carta del IRS o robo de identidad.",
        "ssn_last4",
    ),
}

_CONSENT_EN = (
    "I, the person named on this form, authorize {agency} to release to the office of "
    "{{legislator}} any information in my records that the office needs to answer my inquiry, "
    "and to discuss my case with the office's staff.\n\n"
    "The Privacy Act of 1974 (5 U.S.C. 552a) does not let a federal agency share my records "
    "without my written consent. I give that consent here. I understand that the office will "
    "use this information only to help me with the matter I described, and will not share it "
    "with anyone else.\n\n"
    "{extra}"
    "I sign this release electronically. Under the Creating Advanced Streamlined Electronic "
    "Services for Constituents Act of 2019 (the CASES Act, Public Law 116-50) and OMB "
    "memorandum M-21-04, federal agencies accept an electronic signature as my written "
    "consent. This release stays in effect until my case is closed, or until I cancel it in "
    "writing."
)
_CONSENT_ES = (
    "Yo, la persona nombrada en este formulario, autorizo a {agency} a entregar a la oficina "
    "de {{legislator}} toda la información de mis archivos que la oficina necesite para "
    "responder a mi pedido, y a hablar de mi caso con el personal de la oficina.\n\n"
    "La Ley de Privacidad de 1974 (5 U.S.C. 552a) no permite que una agencia federal comparta "
    "mis archivos sin mi permiso por escrito. Aquí doy ese permiso. Entiendo que la oficina "
    "usará esta información solo para ayudarme con el asunto que describí, y no la compartirá "
    "con nadie más.\n\n"
    "{extra}"
    "Firmo esta autorización de forma electrónica. Según la Ley CASES de 2019 (Ley Pública "
    "116-50) y el memorando M-21-04 de la OMB, las agencias federales aceptan una firma "
    "electrónica como mi permiso por escrito. Esta autorización sigue vigente hasta que se "
    "cierre mi caso, o hasta que yo la cancele por escrito."
)

# Template name → (agency name in the catalog, agency as named in the text (en, es), extra
# paragraph (en, es) the agency asks for).
RELEASE_TEMPLATES: dict[str, tuple[str, tuple[str, str], tuple[str, str]]] = {
    "Social Security Administration release": (
        "Social Security Administration",
        ("the Social Security Administration", "la Administración del Seguro Social"),
        (
            "This includes my benefit records, payment history, medical records the agency "
            "holds about my disability claim, and any overpayment records.\n\n",
            "Esto incluye mis archivos de beneficios, el historial de pagos, los archivos "
            "médicos que la agencia tiene sobre mi reclamo de discapacidad y cualquier archivo "
            "de pagos en exceso.\n\n",
        ),
    ),
    "Department of Veterans Affairs release": (
        "Department of Veterans Affairs",
        ("the Department of Veterans Affairs", "el Departamento de Asuntos de Veteranos"),
        (
            "This includes my claims file, my service records, and my VA health records. "
            "It does not include records of drug or alcohol treatment, HIV, or sickle cell "
            "anemia (38 U.S.C. 7332) unless I give separate written consent.\n\n",
            "Esto incluye mi expediente de reclamos, mis archivos de servicio y mis archivos "
            "médicos del VA. No incluye archivos de tratamiento por drogas o alcohol, VIH o "
            "anemia falciforme (38 U.S.C. 7332) a menos que yo dé un permiso separado por "
            "escrito.\n\n",
        ),
    ),
    "U.S. Citizenship and Immigration Services release": (
        "U.S. Citizenship and Immigration Services",
        (
            "U.S. Citizenship and Immigration Services and the Department of Homeland Security",
            "el Servicio de Ciudadanía e Inmigración y el Departamento de Seguridad Nacional",
        ),
        (
            "This includes my immigration file (A-file) and the status of any application or "
            "petition I filed or that was filed for me.\n\n",
            "Esto incluye mi expediente de inmigración (A-file) y el estado de cualquier "
            "solicitud o petición que yo presenté o que se presentó por mí.\n\n",
        ),
    ),
    "IRS Taxpayer Advocate release": (
        "IRS Taxpayer Advocate Service",
        (
            "the Internal Revenue Service and its Taxpayer Advocate Service",
            "el Servicio de Impuestos Internos (IRS) y su Servicio del Defensor del Contribuyente",
        ),
        (
            "Under 26 U.S.C. 6103(c), this includes my tax returns and return information for "
            "the tax years my inquiry is about.\n\n",
            "Según 26 U.S.C. 6103(c), esto incluye mis declaraciones de impuestos y la "
            "información de esas declaraciones para los años de mi pedido.\n\n",
        ),
    ),
}


def ensure_public_form(legislator: str) -> None:
    """Make the demo's public categories public and add the release templates (once)."""
    categories = {c.name: c for c in db.session.scalars(sa.select(Category))}
    for name, (name_es, blurb_en, blurb_es, asks) in PUBLIC_CATEGORIES.items():
        category = categories.get(name)
        if category is None or category.public:
            continue
        category.public = True
        category.public_name_es = name_es
        category.public_blurb_en, category.public_blurb_es = blurb_en, blurb_es
        category.asks_identifiers = asks
    if db.session.scalar(sa.select(sa.func.count()).select_from(ReleaseTemplate)):
        return
    agencies = {a.name: a for a in db.session.scalars(sa.select(Agency))}
    for name, (
        agency_name,
        (named_en, named_es),
        (extra_en, extra_es),
    ) in RELEASE_TEMPLATES.items():
        agency = agencies.get(agency_name)
        if agency is None:
            continue
        template = ReleaseTemplate(name=name, agencies=[agency])
        text_en = _CONSENT_EN.format(agency=named_en, extra=extra_en)
        text_es = _CONSENT_ES.format(agency=named_es, extra=extra_es)
        db.session.add(template)
        db.session.add(
            ReleaseTemplateVersion(
                template=template,
                number=1,
                text_en=text_en.replace("{legislator}", legislator),
                text_es=text_es.replace("{legislator}", legislator),
            )
        )
    db.session.flush()
