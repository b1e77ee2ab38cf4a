"""docs/ARCHITECTURE.md names only files that exist, so a newcomer who follows it finds them."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "ARCHITECTURE.md"
# A path in the doc is written from the repository root, or (for brevity) from the package or
# from its templates folder: `constituent/services/cases.py`, `services/cases.py`, `cases/edit.html`.
BASES = (ROOT, ROOT / "constituent", ROOT / "constituent" / "templates")
TOP = ("constituent/", "tests/", "migrations/", "bench/", "scripts/", ".ci/", "docs/")
FILE_SUFFIXES = (".py", ".html", ".md", ".csv", ".txt")
CODE_SPAN = re.compile(r"`([^`\n]+)`")
# `services/audit.record`: a module under constituent/ and a name defined in it.
MODULE_NAME = re.compile(r"^((?:[a-z_]+/)+[a-z_]+)\.([A-Za-z_]\w*)$")


def named_paths(text: str) -> list[str]:
    """Every file or folder path inside `code spans` (placeholders like <area> left out)."""
    found = []
    for span in CODE_SPAN.findall(text):
        for token in re.split(r"[\s,()]+", span):
            token = token.rstrip(".:;")
            token = token.removeprefix("./")
            if "/" not in token or "<" in token or token.startswith("/") or "://" in token:
                continue
            if token.startswith(TOP) or token.endswith(FILE_SUFFIXES) or MODULE_NAME.match(token):
                found.append(token)
    return found


def exists(token: str) -> bool:
    """Whether ``token`` names a file, a folder, a glob with matches, or a module's name."""
    match = MODULE_NAME.match(token)
    if match and not token.endswith(FILE_SUFFIXES):
        module, name = match.groups()
        for candidate in (f"constituent/{module}.py", f"constituent/{module}/__init__.py"):
            path = ROOT / candidate
            if path.is_file() and re.search(rf"\b{name}\b", path.read_text(encoding="utf-8")):
                return True
        return False
    for base in BASES:
        if "*" in token:
            if list(base.glob(token)):
                return True
        elif (base / token).exists():
            return True
    return False


def test_every_path_the_architecture_page_names_exists():
    paths = named_paths(DOC.read_text(encoding="utf-8"))
    assert any(p.startswith("constituent/") for p in paths)
    missing = sorted({p for p in paths if not exists(p)})
    assert not missing, f"docs/ARCHITECTURE.md names paths that do not exist: {missing}"


def test_a_path_that_does_not_exist_is_caught():
    paths = named_paths("See `constituent/services/nowhere.py` and `services/cases.no_such_name`.")
    assert paths == ["constituent/services/nowhere.py", "services/cases.no_such_name"]
    assert not any(exists(p) for p in paths)
    assert exists("services/cases.open_case") and exists("intake/log_call.html")


def test_the_readme_layout_links_to_the_architecture_page():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    layout = readme.split("## Layout", 1)[1]
    assert "(docs/ARCHITECTURE.md)" in layout
