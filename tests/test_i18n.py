"""Every translatable string in code and templates has Vietnamese and English text.

makemessages runs on a copy of the project (so the tree is not touched), then the catalogues
it produces must have no untranslated and no fuzzy entry.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def fresh_catalogues(tmp_path_factory):
    if shutil.which("xgettext") is None:
        pytest.skip("GNU gettext (xgettext) is not installed")
    copy = tmp_path_factory.mktemp("i18n") / "project"
    shutil.copytree(
        ROOT,
        copy,
        ignore=shutil.ignore_patterns(".venv", ".git", "var", "test-artifacts", "__pycache__", "node_modules"),
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "vi", "-l", "en", "--no-obsolete"],
        cwd=copy,
        capture_output=True,
        text=True,
        timeout=300,
        env={
            "PATH": "/usr/bin:/bin",
            "DJANGO_SETTINGS_MODULE": "accountability.settings",
            "VAR_DIR": str(copy / "var"),
        },
    )
    assert result.returncode == 0, result.stderr
    return sorted(copy.glob("tasks_app/**/locale/*/LC_MESSAGES/django.po"))


def test_catalogues_exist_for_both_languages(fresh_catalogues):
    languages = {path.parent.parent.name for path in fresh_catalogues}
    assert languages == {"vi", "en"}


def test_makemessages_leaves_nothing_untranslated(fresh_catalogues):
    problems = []
    for path in fresh_catalogues:
        catalogue = polib.pofile(str(path))
        problems += [f"{path.parent.parent.name}: untranslated {e.msgid!r}" for e in catalogue.untranslated_entries()]
        problems += [f"{path.parent.parent.name}: fuzzy {e.msgid!r}" for e in catalogue.fuzzy_entries()]
    assert problems == []


def test_lifecycle_errors_speak_english_when_asked(assignment_a, head_b):
    from django.core.exceptions import PermissionDenied
    from django.utils import translation

    with translation.override("en"), pytest.raises(PermissionDenied) as exc:
        assignment_a.report_progress(by=head_b, percent=10)
    assert str(exc.value) == "Only the assigned unit may report progress on and submit this assignment."
