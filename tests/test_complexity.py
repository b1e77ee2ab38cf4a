"""No function in the package is above the complexity limit of docs/ARCHITECTURE.md."""

from __future__ import annotations

from pathlib import Path

from radon.complexity import cc_visit
from radon.visitors import Function

import constituent

LIMIT = 20
# The demo seeder: one long, flat script of sample data, read top to bottom.
EXEMPT = {"_seed_cases"}


def test_no_function_above_the_complexity_limit() -> None:
    package = Path(constituent.__file__).parent
    too_complex = []
    for path in sorted(package.rglob("*.py")):
        for block in cc_visit(path.read_text(encoding="utf-8")):
            if not isinstance(block, Function):
                continue  # a class: its methods are blocks of their own
            if block.complexity > LIMIT and block.name not in EXEMPT:
                where = path.relative_to(package.parent)
                too_complex.append(f"{where}:{block.lineno} {block.fullname} ({block.complexity})")
    assert not too_complex, (
        f"Above cyclomatic complexity {LIMIT}; split into named steps: " + ", ".join(too_complex)
    )


def test_the_check_sees_a_complex_function() -> None:
    branches = "".join(f"    if x == {i}:\n        return {i}\n" for i in range(LIMIT + 1))
    (block,) = cc_visit(f"def f(x):\n{branches}    return -1\n")
    assert block.complexity > LIMIT
