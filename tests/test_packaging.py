"""The wheel runs on its own: built from the checkout, installed outside it, it holds a console chat."""

from __future__ import annotations

import os
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from the checkout (its build backend from the configured package index)."""
    base = tmp_path_factory.mktemp("wheel")
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(base), str(ROOT)]
    subprocess.run(command, check=True, capture_output=True)
    (built,) = base.glob("keepgoing-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel installed (no deps) in a fresh venv outside the checkout, borrowing this venv's deps."""
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    purelib = next((venv / "lib").glob("python*/site-packages"))
    # Dependencies come from this venv's site-packages (a .pth line; nested .pth files, such as the
    # checkout's editable install, are not processed there), the package itself only from the wheel.
    (purelib / "deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    subprocess.run(
        [venv / "bin" / "python", "-m", "pip", "install", "-q", "--no-deps", str(wheel)], check=True
    )
    return venv


def _run(venv: Path, *args: str, stdin: str = "", cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_TOKEN") and k != "DATABASE_URL"}
    return subprocess.run(
        [str(venv / "bin" / "keepgoing"), *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**env, "PYTHONPATH": ""},
        timeout=120,
    )


def test_wheel_lists_every_package_and_the_messages(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for init in (ROOT / "bot").rglob("__init__.py"):
        assert init.relative_to(ROOT).as_posix() in names, f"{init} is not in pyproject's package list"
    for template in (ROOT / "messages").rglob("*"):
        if template.is_file():
            assert "bot/_messages/" + template.relative_to(ROOT / "messages").as_posix() in names
    assert any(n.endswith("licenses/LICENSE") for n in names)


def test_installed_wheel_reports_its_version(installed: Path, tmp_path: Path) -> None:
    result = _run(installed, "--version", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.strip() == "keepgoing 0.1.0"


def test_installed_wheel_holds_a_console_chat_outside_the_checkout(installed: Path, tmp_path: Path) -> None:
    where = subprocess.run(
        [str(installed / "bin" / "python"), "-c", "import bot.paths as p; print(p.MESSAGES_DIR)"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    ).stdout.strip()
    assert where.startswith(str(installed)) and where.endswith("bot/_messages")

    result = _run(installed, "chat", stdin="hi\n/privacy\n", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    english = (ROOT / "messages" / "en" / "welcome.j2").read_text(encoding="utf-8")
    first_words = english.split("{")[0].split("\n")[0].strip()[:20]
    assert first_words and first_words in result.stdout
    assert (tmp_path / "keepgoing.db").exists()  # state lands where the operator runs it
