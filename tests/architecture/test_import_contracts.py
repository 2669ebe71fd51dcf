"""The house's import rules ([tool.importlinter] in pyproject.toml) hold, and really catch a breach.

`make test` runs `lint-imports` on the tree itself; this test proves the contracts are not
toothless: a copy of `app/` with one deliberate circle and one layer breach must fail them.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", "--config", str(tree / "pyproject.toml")],
                          cwd=tree, capture_output=True, text=True, timeout=120)


def copy_of_the_tree(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "app", tmp_path / "app", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_tree_keeps_every_contract():
    result = lint_imports(ROOT)

    assert result.returncode == 0, result.stdout + result.stderr


def test_a_circle_between_service_packages_breaks_the_build(tmp_path):
    tree = copy_of_the_tree(tmp_path)
    state = tree / "app/services/decisions/action_state.py"
    # The circle this layout removed: state changes asking reviews to decide.
    state.write_text(state.read_text() + "\nfrom app.services.reviews import queue  # noqa: E402\n")

    result = lint_imports(tree)

    assert result.returncode != 0
    assert "app.services.decisions.action_state -> app.services.reviews.queue" in result.stdout


def test_the_domain_importing_the_database_breaks_the_build(tmp_path):
    tree = copy_of_the_tree(tmp_path)
    rules = tree / "app/domain/rules.py"
    rules.write_text(rules.read_text() + "\nfrom app.extensions import db  # noqa: E402\n")

    result = lint_imports(tree)

    assert result.returncode != 0
    assert "app.domain.rules -> app.extensions" in result.stdout
