"""Good sweep files, in W&B's documented format: they validate, plan, and mean what W&B means.

tests/corpus/good/ holds the W&B documentation's kinds of examples (grid,
random, bayes, nested parameters, each of the 18 distributions, hyperband in
both forms, commands with every macro); sweeps/ holds the project's own.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from orchestrator.config.sweep import validate_file
from tests.conftest import REPO_ROOT, sweepci

GOOD = Path(__file__).parent / "corpus" / "good"
FILES = sorted(GOOD.glob("*.yaml")) + sorted((REPO_ROOT / "sweeps").glob("*.yaml"))
IDS = [f"{f.parent.name}/{f.stem}" for f in FILES]

W_AND_B_DISTRIBUTIONS = [
    "constant",
    "categorical",
    "categorical_w_probabilities",
    "int_uniform",
    "uniform",
    "q_uniform",
    "log_uniform",
    "log_uniform_values",
    "q_log_uniform",
    "q_log_uniform_values",
    "inv_log_uniform",
    "inv_log_uniform_values",
    "normal",
    "q_normal",
    "log_normal",
    "q_log_normal",
    "beta",
    "q_beta",
]


@pytest.fixture(scope="module")
def validate_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """One real `sweepci validate --json` over every good file, by file."""
    cwd = tmp_path_factory.mktemp("validate")
    for program in ("train.py", "sweep_nest.py", "examples/train.py"):  # what the sweeps run
        (cwd / program).parent.mkdir(exist_ok=True)
        (cwd / program).write_text("")
    proc = sweepci("validate", "--json", *map(str, FILES), cwd=cwd)
    assert "Traceback" not in proc.stderr
    assert proc.stderr == "", proc.stderr
    assert proc.returncode == 0, proc.stdout
    assert sorted(p.name for p in cwd.iterdir()) == ["examples", "sweep_nest.py", "train.py"]
    return {entry["file"]: entry for entry in json.loads(proc.stdout)}


def test_every_distribution_has_a_good_example() -> None:
    named = {
        yaml.safe_load(f.read_text())["parameters"].popitem()[1].get("distribution")
        for f in GOOD.glob("distribution_*.yaml")
        if f.stem != "distribution_defaults"
    }
    assert named == set(W_AND_B_DISTRIBUTIONS)
    print(f"good sweep corpus: {len(FILES)} files")


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_validates_without_warnings(path: Path, validate_report: dict[str, dict]) -> None:
    entry = validate_report[str(path)]
    assert entry["ok"] is True
    assert entry["errors"] == [] and entry["warnings"] == []


def _grid_size(params: dict) -> int:
    """How many points W&B's grid has, computed from the file on its own."""
    n = 1
    for spec in params.values():
        if "parameters" in spec:
            n *= _grid_size(spec["parameters"])
        elif "value" in spec:
            continue
        elif "values" in spec:
            n *= len({json.dumps(v) for v in spec["values"]})
        elif spec.get("distribution", "int_uniform") == "int_uniform":
            n *= spec["max"] - spec["min"] + 1
        else:  # q_uniform: numpy.arange(min, max, q), max excluded
            n *= len(np.arange(spec["min"], spec["max"], spec.get("q", 1.0)))
    return n


def _leaf_names(params: dict, prefix: str = "") -> set[str]:
    names = set()
    for name, spec in params.items():
        if "parameters" in spec:
            names |= _leaf_names(spec["parameters"], f"{prefix}{name}.")
        else:
            names.add(prefix + name)
    return names


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_plans(path: Path, tmp_path: Path) -> None:
    raw = yaml.safe_load(path.read_text())
    grid = raw["method"] == "grid"
    # a grid plan without --count lists every point; random and bayes show --count draws
    proc = sweepci("plan", str(path), "--json", *([] if grid else ["--count", "5"]), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    plan = json.loads(proc.stdout)
    assert plan["method"] == raw["method"]
    configs = plan["configs"]
    names = _leaf_names(raw["parameters"])
    assert all(set(c) == names for c in configs), configs
    if grid:
        size = _grid_size(raw["parameters"])
        points = {json.dumps(c, sort_keys=True) for c in configs}
        assert plan["total"] == len(configs) == len(points) == size
    else:
        assert plan["total"] is None
        assert len(configs) == min(5, raw.get("run_cap", 5))
    assert list(tmp_path.iterdir()) == []


def _specs(name: str) -> dict:
    result = validate_file(GOOD / name)
    assert result.ok, result.errors
    assert result.config is not None
    return {".".join(path): spec for path, spec in result.config.flat_parameters().items()}


def test_distributions_are_inferred_as_wandb_does() -> None:
    specs = _specs("inferred.yaml")
    assert specs["epochs"].distribution == "constant"
    assert specs["optimizer"].distribution == "categorical"
    assert specs["layers"].distribution == "int_uniform"  # integer min and max
    assert specs["dropout"].distribution == "uniform"  # float min and max
    assert specs["warmup"].distribution == "uniform"  # one of them a float
    assert specs["scheduler"].distribution == "categorical_w_probabilities"
    assert specs["scheduler"].settings["probabilities"] == [0.75, 0.25]


def test_inference_in_the_documentation_examples() -> None:
    bayes = _specs("bayes.yaml")
    assert bayes["learning_rate"].distribution == "uniform"
    assert {bayes[n].distribution for n in ("batch_size", "epochs", "optimizer")} == {"categorical"}
    nested = _specs("nested.yaml")
    assert nested["optimizer_settings.momentum"].distribution == "uniform"
    assert nested["optimizer_settings.weight_decay"].distribution == "categorical"
    assert nested["optimizer_settings.schedule.kind"].settings == {"value": "cosine"}
    assert nested["batch_size"].settings == {"min": 32, "max": 256, "q": 8}


def test_defaults_are_filled_as_wandb_does() -> None:
    specs = _specs("distribution_defaults.yaml")
    for name in ("a_normal", "a_log_normal"):
        assert specs[name].settings == {"mu": 0.0, "sigma": 1.0}
    for name in ("a_q_normal", "a_q_log_normal"):
        assert specs[name].settings == {"mu": 0.0, "sigma": 1.0, "q": 1.0}
    assert specs["a_beta"].settings == {"a": 1.0, "b": 1.0}
    assert specs["a_q_beta"].settings == {"a": 1.0, "b": 1.0, "q": 1.0}
    for name in ("a_q_uniform", "a_q_log_uniform", "a_q_log_uniform_values"):
        q = specs[name].settings["q"]
        assert q == 1.0 and isinstance(q, float)  # a float q keeps samples floats, as in W&B


@pytest.mark.parametrize("dist", W_AND_B_DISTRIBUTIONS)
def test_each_named_distribution_is_kept(dist: str) -> None:
    (spec,) = _specs(f"distribution_{dist}.yaml").values()
    assert spec.distribution == dist
    raw = yaml.safe_load((GOOD / f"distribution_{dist}.yaml").read_text())
    (written,) = raw["parameters"].values()
    for key, value in written.items():
        if key != "distribution":
            assert spec.settings[key] == value


def test_early_terminate_both_forms() -> None:
    short = validate_file(GOOD / "hyperband_min_iter.yaml").config
    assert short is not None and short.early_terminate is not None
    assert (
        short.early_terminate.min_iter,
        short.early_terminate.eta,
        short.early_terminate.strict,
    ) == (3, 3.0, True)
    long = validate_file(GOOD / "hyperband_max_iter.yaml").config
    assert long is not None and long.early_terminate is not None
    et = long.early_terminate
    assert (et.min_iter, et.max_iter, et.s, et.eta, et.strict) == (None, 27, 2, 3.0, False)
    assert (
        long.metric is not None
        and long.metric.goal == "maximize"
        and math.isclose(long.metric.target, 0.99)
    )
    assert long.run_cap == 50


def test_commands_keep_every_macro() -> None:
    config = validate_file(GOOD / "command_macros.yaml").config
    assert config is not None
    assert config.command == [
        "${env}",
        "${interpreter}",
        "${program}",
        "${args}",
        "${args_no_hyphens}",
        "${args_json}",
        "${args_json_file}",
        "${args_no_boolean_flags}",
    ]
    default = validate_file(GOOD / "grid.yaml").config
    assert default is not None and default.command == [
        "${env}",
        "${interpreter}",
        "${program}",
        "${args}",
    ]
    no_program = validate_file(GOOD / "command_envvar.yaml").config
    assert no_program is not None and no_program.program is None


def test_the_sweep_goes_to_wandb_as_written() -> None:
    config = validate_file(GOOD / "nested.yaml").config
    assert config is not None
    assert config.to_wandb_dict() == yaml.safe_load((GOOD / "nested.yaml").read_text())
