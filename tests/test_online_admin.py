"""Admin pages of the public help form (issue 15): categories offered with their sentences
and identifiers, and the versioned release templates residents sign."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from constituent.extensions import db
from constituent.models import AuditEvent, Category, ReleaseTemplate, ReleaseTemplateVersion
from tests.referral_helpers import gen_agency


@pytest.fixture()
def agencies(app, office):
    found = {"ssa": gen_agency(), "va": gen_agency("Department of Veterans Affairs", "VA")}
    db.session.commit()
    return found


def actions() -> list[str]:
    return list(db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))


def test_an_admin_offers_a_category_with_both_sentences_and_its_identifiers(client, office):
    client.login(office.admin.email)
    page = f"/admin/categories/{office.category.id}"
    post = f"{page}/public"
    refused = client.form_post(
        post, {"public": "y", "blurb_en": "Help with Social Security checks."}, token_from=page
    )
    assert refused.status_code == 422
    assert "Write the sentence residents read in Spanish" in refused.get_data(as_text=True)
    assert not db.session.get(Category, office.category.id).public
    too_long = client.form_post(
        post, {"public": "y", "blurb_en": "x" * 201, "blurb_es": "y"}, token_from=page
    )
    assert too_long.status_code == 422
    done = client.form_post(
        post,
        {
            "public": "y",
            "blurb_en": "Help with Social Security checks.",
            "blurb_es": "Ayuda con los cheques del Seguro Social.",
            "name_es": "Seguro Social",
            "asks": ["claim_number", "ssn_last4"],
        },
        token_from=page,
    )
    assert done.status_code == 302
    category = db.session.get(Category, office.category.id)
    assert category.public and category.asks_identifiers == "claim_number,ssn_last4"
    assert category.public_blurb_es == "Ayuda con los cheques del Seguro Social."
    assert category.public_name_es == "Seguro Social"
    assert "category_public_changed" in actions()
    shown = client.get(page).get_data(as_text=True)
    assert "Offered now." in shown
    boxes = dict(
        (re.search(r'value="([a-z_0-9]+)"', tag).group(1), "checked" in tag)  # type: ignore[union-attr]
        for tag in re.findall(r'<input[^>]*name="asks"[^>]*>', shown)
    )
    assert boxes == {"claim_number": True, "a_number": False, "ssn_last4": True}


def test_release_templates_are_created_versioned_never_edited_and_deactivated(
    client, office, agencies
):
    client.login(office.admin.email)
    base = "/admin/release-templates"
    missing = client.form_post(base, {"name": "SSA release", "text_en": "I agree.", "text_es": ""})
    assert missing.status_code == 422 and db.session.scalar(sa.select(ReleaseTemplate)) is None
    no_agency = client.form_post(
        base, {"name": "SSA release", "text_en": "I agree.", "text_es": "Acepto."}
    )
    assert no_agency.status_code == 422
    assert "Choose at least one agency" in no_agency.get_data(as_text=True)
    created = client.form_post(
        base,
        {
            "name": "SSA release",
            "agencies": [agencies["ssa"].id],
            "text_en": "I authorize SSA.",
            "text_es": "Autorizo al SSA.",
        },
    )
    assert created.status_code == 302
    template = db.session.scalar(sa.select(ReleaseTemplate))
    page = f"{base}/{template.id}"
    same = client.form_post(
        f"{page}/versions",
        {"text_en": "I authorize SSA.", "text_es": "Autorizo al SSA."},
        token_from=page,
    )
    assert same.status_code == 422 and "The wording is the same as version 1" in same.get_data(
        as_text=True
    )
    changed = client.form_post(
        f"{page}/versions",
        {"text_en": "I authorize SSA to disclose.", "text_es": "Autorizo al SSA a divulgar."},
        token_from=page,
    )
    assert changed.status_code == 302
    versions = db.session.scalars(
        sa.select(ReleaseTemplateVersion).order_by(ReleaseTemplateVersion.number)
    ).all()
    assert [(v.number, v.text_en) for v in versions] == [
        (1, "I authorize SSA."),
        (2, "I authorize SSA to disclose."),
    ]
    covered = client.form_post(
        f"{page}/agencies", {"agencies": [agencies["ssa"].id, agencies["va"].id]}, token_from=page
    )
    assert covered.status_code == 302
    db.session.expire_all()
    assert {a.acronym for a in db.session.get(ReleaseTemplate, template.id).agencies} == {
        "SSA",
        "VA",
    }
    off = client.form_post(f"{page}/deactivate", {}, token_from=page)
    assert off.status_code == 302
    db.session.expire_all()
    assert not db.session.get(ReleaseTemplate, template.id).active
    assert {
        "release_template_created",
        "release_template_versioned",
        "release_template_agencies",
        "release_template_deactivated",
    } <= set(actions())
    text = client.get(page).get_data(as_text=True)
    assert "Version 2 (shown now)" in text and "Deactivated" in text


def test_only_admins_reach_the_release_templates(client, office):
    client.login(office.supervisor.email)
    assert client.get("/admin/release-templates").status_code == 403
