"""Every workflow sweepci can render, plus renderings from hostile project files, is clean
under actionlint and zizmor (offline). The renderer is orchestrator/github/render.py."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.test_workflow import actionlint, every_rendering, render_in, zizmor  # noqa: F401 - a fixture

# values a project file might hold that would be dangerous if pasted into `run:` or `${{ }}`
HOSTILE = {
    "expression-in-base": "base: '${{ github.event.issue.title }}'\n",
    "shell-in-base": "base: 'x$(curl evil)`id`'\n",
    "expression-in-branches": "environments:\n  prod: {branches: ['${{ github.head_ref }}']}\n  dev: {branches: ['*']}\n",
    "quotes-in-sweep-file": 'sweep_file: "sweeps/it\'s \\"odd\\".yaml"\n',
    "newline-in-python": 'python: "3.11\\nrun: echo pwned"\n',
    # actions: settings: refused with their file:line, or rendered harmless
    "expression-in-setup": "actions:\n  agents:\n    setup:\n      - run: echo ${{ github.head_ref }}\n",
    "newline-in-label": 'actions:\n  runs-on: "gpu\\nrun: echo pwned"\n',
    "tag-pinned-setup": "actions:\n  agents:\n    setup:\n      - uses: evil/odd@v1\n",
    "shell-in-env": "actions:\n  env: {X: '$(curl evil)'}\n",
}


@pytest.fixture(scope="module")
def hostile_renderings(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    out = tmp_path_factory.mktemp("hostile")
    files = []
    for name, text in HOSTILE.items():
        try:
            rendered = render_in(out / f"src-{name}", text, {})
        except Exception as exc:  # noqa: BLE001 - refusing a hostile value is fine; crashing is not
            from orchestrator.errors import SweepCIError

            assert isinstance(exc, SweepCIError), f"{name}: {exc!r}"
            continue
        files.append(out / f"{name}.yml")
        files[-1].write_text(rendered)
    return files


def test_every_rendering_and_hostile_project_files_lint_clean(
    every_rendering: list[Path],  # noqa: F811
    hostile_renderings: list[Path],
    figures,
) -> None:
    files = every_rendering + hostile_renderings
    assert actionlint(files) == []
    assert zizmor(files) == []
    for path in hostile_renderings:  # no hostile value inside a shell script
        workflow = yaml.safe_load(path.read_text())
        scripts = [
            step.get("run", "")
            for job in workflow["jobs"].values()
            for step in job.get("steps", [])
        ]
        for script in scripts:
            for needle in ("pwned", "curl evil", "issue.title", "head_ref", "odd"):
                assert needle not in script, (path.name, script)
    figures(workflows_linted=len(files))
