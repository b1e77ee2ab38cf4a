"""WTForms per area, mirroring views/."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from wtforms.fields.choices import SelectChoice


def choices(pairs: Iterable[tuple[Any, str]], optgroup: str | None = None) -> list[SelectChoice]:
    """(value, label) pairs as WTForms select choices, optionally in an <optgroup>."""
    return [SelectChoice(value, label, optgroup=optgroup) for value, label in pairs]
