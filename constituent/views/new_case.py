"""The new-case page, written once: logging a call (``views/intake.py``) and opening a case
from a mail item (``views/mail.py``) show the same fields, find the same candidates and open
the case through the request boundary in the same way."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask.typing import ResponseReturnValue
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # not in types-WTForms yet

from constituent.forms import choices
from constituent.forms.intake import NewCaseFields
from constituent.models import Case
from constituent.services import categories, constituents, intake, submissions
from constituent.services.errors import DomainError, NotFound
from constituent.services.intake import CallDetails
from constituent.views.boundary import commit, current_staff, discard


def category_choices() -> list[SelectChoice]:
    """The active categories, after an empty "Choose a category"."""
    rows = categories.active_categories()
    return choices([("", "Choose a category")] + [(c.id, c.name) for c in rows])


def context(form: NewCaseFields) -> dict[str, Any]:
    """Candidates, the chosen record and the district question for what the form holds."""
    details = form.details()
    selected = None
    if details.constituent_id:
        try:
            selected = constituents.get_constituent(current_staff(), details.constituent_id)
        except NotFound:
            selected = None
    typed = details.typed()
    matches = constituents.find_matches(
        current_staff(), **typed, exclude_id=selected.id if selected else None
    )
    question = intake.district_question(current_staff(), details.zip5, selected)
    form.ask_district(question)
    return {
        "form": form,
        "matches": matches,
        "selected": selected,
        "question": question,
        "searched": any(v.strip() for name, v in typed.items() if name != "zip5"),
    }


def open_case(
    form: NewCaseFields,
    opening: Callable[[CallDetails], Case],
    opened: Callable[[Case], ResponseReturnValue],
    address: Callable[[Case], str],
    *,
    fallback: str | None = None,
) -> ResponseReturnValue | None:
    """Check the submitted form, claim its submission key, open the case (``opening``),
    record ``address`` as what the key made, and commit once: the answer is ``opened``.

    None when refused: rolled back, and each refusal is put beside its field (or beside
    ``fallback``; without one, a refusal other than intake's is raised for its error page).
    """
    form.validate()
    details = form.details()
    staff = current_staff()
    errors = intake.validate_call(staff, details)

    def open_it() -> Case:
        claimed = submissions.claim(staff, form.submission_key.data)
        case = opening(details)
        submissions.record(claimed, address(case))
        return case

    def refused(exc: DomainError) -> None:
        if isinstance(exc, intake.IntakeRefused):
            errors.update(exc.errors)
        elif fallback is not None and exc.status_code == 400:
            errors[exc.field or fallback] = exc.message
        else:
            raise exc

    if not errors and not form.errors:
        done = commit(open_it, opened, refused)
        if done is not None:
            return done
    discard()
    for name, message in errors.items():
        target = name if name in form else fallback
        if target is not None and not form[target].errors:
            form[target].errors = [*form[target].errors, message]
    return None
