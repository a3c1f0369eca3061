"""The release workflow: on a v* tag, sdist + wheel, `twine check`, PyPI trusted publishing.

The workflow's own build and check commands are run here for real on a copy of
this checkout, so a release tag cannot meet a package that does not build or
whose metadata PyPI would refuse.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import tomllib
import yaml

from orchestrator import __version__
from orchestrator.github.pins import PINS
from tests.conftest import REPO_ROOT
from tests.e2e.conftest import _NOT_SHIPPED, _bare_env

RELEASE = REPO_ROOT / ".github" / "workflows" / "release.yml"


def _workflow() -> dict:
    return yaml.safe_load(RELEASE.read_text())


def test_a_version_tag_builds_checks_and_publishes_with_trusted_publishing() -> None:
    wf = _workflow()
    assert wf[True] == {"push": {"tags": ["v*"]}}  # YAML 1.1 reads `on` as true
    assert wf["permissions"] == {}
    build, publish = wf["jobs"]["build"], wf["jobs"]["publish"]
    runs = [s.get("run", "") for s in build["steps"]]
    assert "python -m build" in runs and "python -m twine check --strict dist/*" in runs
    assert build["permissions"] == {"contents": "read"}
    # only the publishing job may ask for an OIDC token; no token secret anywhere
    assert publish["permissions"] == {"id-token": "write"}
    assert publish["needs"] == "build" and publish["environment"]["name"] == "pypi"
    assert publish["steps"][-1] == {"uses": PINS["pypi_publish"].ref}
    assert "secrets." not in RELEASE.read_text()
    steps = [s for job in wf["jobs"].values() for s in job["steps"]]
    assert not any("cache" in (s.get("with") or {}) for s in steps), "no shared cache in a release"


def test_the_release_jobs_commands_build_distributions_twine_accepts(tmp_path: Path) -> None:
    source = tmp_path / "src"
    shutil.copytree(REPO_ROOT, source, ignore=_NOT_SHIPPED)
    env = _bare_env()
    built = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(tmp_path / "dist"), str(source)],
        capture_output=True, text=True, env=env, timeout=900,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    dists = sorted(p.name for p in (tmp_path / "dist").iterdir())
    assert dists == [f"sweepci-{__version__}-py3-none-any.whl", f"sweepci-{__version__}.tar.gz"]
    checked = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *map(str, (tmp_path / "dist").iterdir())],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.count("PASSED") == 2
    # the templates ship in both: an installed sweepci renders workflows and reports
    wheel = zipfile.ZipFile(tmp_path / "dist" / dists[0]).namelist()
    assert "orchestrator/templates/workflows/sweep.yml.j2" in wheel
    assert "orchestrator/templates/init/sweepci.yaml.j2" in wheel
    with tarfile.open(tmp_path / "dist" / dists[1]) as sdist:
        names = sdist.getnames()
    assert f"sweepci-{__version__}/templates/workflows/sweep.yml.j2" in names


def test_the_tag_check_compares_with_the_version_in_pyproject(tmp_path: Path) -> None:
    step = next(s for s in _workflow()["jobs"]["build"]["steps"] if "tomllib" in s.get("run", ""))
    shutil.copy(REPO_ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    version = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert version == __version__

    def tagged(tag: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["bash", "-e", "-c", step["run"]], cwd=tmp_path, capture_output=True, text=True,
            env={**_bare_env(), "TAG": tag, "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"},
        )  # fmt: skip

    assert tagged(f"v{version}").returncode == 0
    wrong = tagged("v9.9.9")
    assert wrong.returncode == 1 and "does not match the version" in wrong.stdout
