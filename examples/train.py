"""Train a small scikit-learn classifier and track it with W&B, as W&B's sweep docs teach.

This is an ordinary W&B script: it does not know about sweepci. Run it alone
(`WANDB_MODE=offline python examples/train.py --model=mlp`), under
`wandb agent`, or under `sweepci`; hyperparameters come from `wandb.config`,
which a sweep fills through `--name=value` arguments or WANDB_SWEEP_PARAM_PATH.

Artifacts, as W&B's artifact docs teach: the dataset arrays are a `dataset`
artifact (`<dataset>-data`, a features.npy and labels.npy, their SHA-256 in
its metadata) declared as the run's input, and the trained model a `model`
artifact (`<dataset>-model`, model.pkl, with metrics, dataset and
hyperparameters as metadata) logged as its output. Offline, wandb 0.31
refuses `run.use_artifact` ("Cannot use artifact when in offline mode.", for
names and Artifact objects alike), so an offline run logs the dataset
artifact instead; sweepci reads a logged `dataset` artifact as the run's input.

Models, each logging one history row per iteration so early termination has
something to judge:
  gradient_boosting  one row per boosting stage (n_estimators, max_depth, learning_rate)
  sgd                one row per epoch of SGD logistic regression (epochs, learning_rate, alpha)
  mlp                one row per epoch of a one-hidden-layer network
                     (epochs, hidden_units, learning_rate, alpha)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import tempfile
import time
from pathlib import Path

import numpy as np
import wandb
from sklearn.datasets import load_iris, load_wine
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import accuracy_score, f1_score, log_loss, precision_score, recall_score
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

DEFAULTS = {
    "dataset": "wine",
    "model": "gradient_boosting",
    "seed": 0,
    "test_size": 0.25,
    "learning_rate": 0.1,
    "n_estimators": 50,
    "max_depth": 3,
    "epochs": 20,
    "alpha": 1.0e-4,
    "hidden_units": 32,
}
DATASETS = {"wine": load_wine, "iris": load_iris}


def parse_defaults() -> dict:
    """Read `--name=value` arguments (the form W&B's default command uses) over DEFAULTS."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name, default in DEFAULTS.items():
        kind = type(default)
        # W&B may print an integer parameter as "3.0"; accept it rather than crash the run.
        convert = (lambda text: int(float(text))) if kind is int else kind
        parser.add_argument(f"--{name}", type=convert, default=default)
    known, _unknown = parser.parse_known_args()  # tolerate arguments meant for others
    return vars(known)


def report_live(step: int, metrics: dict) -> None:
    """Send a progress line to a sweepci agent, if one is listening.

    sweepci sets SWEEPCI_METRICS_FILE; each report is one JSON line
    {"step": <int or null>, "t": <unix time>, "metrics": {<name>: <number>}}
    appended in a single write (so a reader never sees half a line). It is
    needed because offline wandb writes its files in batches, too late for
    early termination. Written inline so this script needs only wandb.
    """
    target = os.environ.get("SWEEPCI_METRICS_FILE")
    if not target:
        return
    line = json.dumps({"step": step, "t": time.time(), "metrics": metrics}) + "\n"
    fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def scores(y_true: np.ndarray, y_pred: np.ndarray) -> dict:
    """Accuracy and macro-averaged precision, recall and F1 (the classes are balanced-ish)."""
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "precision": float(precision_score(y_true, y_pred, average="macro", zero_division=0)),
        "recall": float(recall_score(y_true, y_pred, average="macro", zero_division=0)),
        "f1": float(f1_score(y_true, y_pred, average="macro", zero_division=0)),
    }


def iterations(config, x_train, y_train, x_test):
    """Train the configured model, yielding (train_loss, test_probabilities, model) per iteration."""
    classes = np.unique(y_train)
    seed = int(config.seed)
    if config.model == "gradient_boosting":
        model = GradientBoostingClassifier(
            n_estimators=int(config.n_estimators),
            max_depth=int(config.max_depth),
            learning_rate=float(config.learning_rate),
            random_state=seed,
        )
        model.fit(x_train, y_train)
        for loss, proba in zip(model.train_score_, model.staged_predict_proba(x_test), strict=True):
            yield float(loss), proba, model
        return
    if config.model == "sgd":
        model = SGDClassifier(
            loss="log_loss",
            learning_rate="invscaling",
            eta0=float(config.learning_rate),
            alpha=float(config.alpha),
            random_state=seed,
        )
    elif config.model == "mlp":
        model = MLPClassifier(
            hidden_layer_sizes=(int(config.hidden_units),),
            learning_rate_init=float(config.learning_rate),
            alpha=float(config.alpha),
            random_state=seed,
        )
    else:
        raise SystemExit(f"unknown model {config.model!r}: use gradient_boosting, sgd or mlp")
    rng = np.random.default_rng(seed)
    for _epoch in range(int(config.epochs)):
        order = rng.permutation(len(y_train))
        model.partial_fit(x_train[order], y_train[order], classes=classes)
        train_loss = log_loss(y_train, model.predict_proba(x_train), labels=classes)
        yield float(train_loss), model.predict_proba(x_test), model


def log_dataset(run, name: str, x: np.ndarray, y: np.ndarray) -> None:
    """Declare the data this run trained on: a `dataset` artifact of the arrays themselves.

    Its content (so its version) changes exactly when the data does; the same
    data gives the same digest, so W&B and sweepci keep one version for all runs.
    """
    digest = hashlib.sha256(x.tobytes() + y.tobytes()).hexdigest()
    dataset = wandb.Artifact(
        f"{name}-data",
        type="dataset",
        description=f"scikit-learn's {name} data set",
        metadata={
            "source": f"sklearn.datasets.load_{name}",
            "sha256": digest,
            "n_samples": int(len(y)),
            "n_features": int(x.shape[1]),
            "n_classes": int(len(np.unique(y))),
        },
    )
    with tempfile.TemporaryDirectory() as tmp:
        for file_name, array in (("features.npy", x), ("labels.npy", y)):
            np.save(Path(tmp) / file_name, array, allow_pickle=False)
            dataset.add_file(str(Path(tmp) / file_name))  # wandb copies it to its staging area
        if run.offline:
            # offline wandb refuses use_artifact (see the module docstring)
            run.log_artifact(dataset)
        else:
            run.use_artifact(dataset)  # logs it if new and records this run as its user


def log_model(run, name: str, model, scaler, config, metrics: dict) -> None:
    """Log the trained model (with its scaler) as a `model` artifact, metrics and settings in its metadata."""
    hyperparameters = {k: v for k, v in dict(config).items() if k in DEFAULTS}
    artifact = wandb.Artifact(
        f"{name}-model",
        type="model",
        description=f"{config.model} classifier for the {name} data set",
        metadata={"metrics": metrics, "dataset": name, "hyperparameters": hyperparameters},
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.pkl"
        with open(path, "wb") as fh:
            pickle.dump({"scaler": scaler, "model": model}, fh, protocol=pickle.HIGHEST_PROTOCOL)
        artifact.add_file(str(path))
        run.log_artifact(artifact)


def main() -> None:
    run = wandb.init(config=parse_defaults())
    config = wandb.config
    if config.dataset not in DATASETS:
        raise SystemExit(f"unknown dataset {config.dataset!r}: use wine or iris")
    x, y = DATASETS[config.dataset](return_X_y=True)
    log_dataset(run, config.dataset, x, y)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=float(config.test_size), random_state=int(config.seed), stratify=y
    )
    # Trees do not need it, but SGD and the MLP diverge on wine's unscaled features.
    scaler = StandardScaler().fit(x_train)
    x_train, x_test = scaler.transform(x_train), scaler.transform(x_test)

    final: dict = {}
    classes = np.unique(y)
    model = None
    for epoch, (train_loss, proba, trained) in enumerate(
        iterations(config, x_train, y_train, x_test)
    ):
        model = trained
        final = scores(y_test, classes[np.argmax(proba, axis=1)])
        row = {"epoch": epoch, "loss": train_loss, **final}
        row["val_loss"] = float(log_loss(y_test, proba, labels=classes))
        wandb.log(row)
        report_live(epoch, row)

    for name, value in final.items():
        run.summary[name] = value
    if model is not None:
        log_model(run, config.dataset, model, scaler, config, final)
    run.finish()


if __name__ == "__main__":
    main()
