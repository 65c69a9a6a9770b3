"""The package ships what it needs at run time: data files load from an installed wheel.

The wheel is built from this source tree, unpacked into a temporary folder and imported
from there by a fresh interpreter whose working directory is elsewhere, so the source tree
cannot stand in for a file the wheel forgot.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from skills.emotion import score_text

ROOT = Path(__file__).resolve().parent.parent
NOT_SOURCE = (".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", "*.db*")


@pytest.fixture(scope="module")
def unpacked_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # a clean copy: a stale build/ folder in the source tree would hide a missing data file
    source = out / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*NOT_SOURCE))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(out),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = out.glob("centralino-*.whl")
    site = out / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    return site


def run_from(site: Path, code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-P", "-c", code],
        cwd=site.parent,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout.strip()


def test_the_word_lists_load_from_the_installed_wheel(unpacked_wheel: Path) -> None:
    code = (
        "import skills.lexicons as L, skills.emotion as E; "
        "print(L.__file__); print(len(L.NEGATIVE['it']['anger'])); "
        "print(E.score_text('Sono furioso, è inaccettabile', 'it').label)"
    )
    where, anger_words, label = run_from(unpacked_wheel, code).splitlines()
    assert where.startswith(str(unpacked_wheel))
    assert int(anger_words) > 10
    assert label == "negative"


def test_the_urgency_model_loads_from_the_installed_wheel(unpacked_wheel: Path) -> None:
    text = "Terza volta che chiamo, se non risolvete chiamo l'avvocato!!!"
    code = (
        "import skills.urgency_model as M, skills.emotion as E; "
        "print(M.__file__); print(','.join(sorted(M.modelled_languages()))); "
        f"s = E.score_text({text!r}, 'it'); print(s.label); print(repr(s.urgency))"
    )
    where, languages, label, urgency = run_from(unpacked_wheel, code).splitlines()
    assert where.startswith(str(unpacked_wheel))
    assert languages == "en,it"
    assert (unpacked_wheel / "skills" / "data" / "urgency_model.npz").is_file()
    here = score_text(text, "it")
    assert label == here.label == "negative"
    assert float(urgency) == here.urgency  # the same weights, the same score, bit for bit


def test_the_pages_ship_in_the_wheel(unpacked_wheel: Path) -> None:
    pages = {p.name for p in unpacked_wheel.rglob("*.html")}
    assert {"desktop.html", "wallboard.html", "chat.html"} <= pages
