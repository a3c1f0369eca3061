"""Train a small scikit-learn classifier and track it with W&B, as W&B's sweep docs teach.

This is an ordinary W&B script: it does not know about sweepci. Run it alone
(`WANDB_MODE=offline python examples/train.py --model=mlp`), under
`wandb agent`, or under `sweepci`; hyperparameters come from `wandb.config`,
which a sweep fills through `--name=value` arguments or WANDB_SWEEP_PARAM_PATH.

Models, each logging one history row per iteration so early termination has
something to judge:
  gradient_boosting  one row per boosting stage (n_estimators, max_depth, learning_rate)
  sgd                one row per epoch of SGD logistic regression (epochs, learning_rate, alpha)
  mlp                one row per epoch of a one-hidden-layer network
                     (epochs, hidden_units, learning_rate, alpha)
"""

from __future__ import annotations

import argparse
import json
import os
import time

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
    """Train the configured model, yielding (train_loss, test_probabilities) per iteration."""
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
            yield float(loss), proba
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
        yield float(train_loss), model.predict_proba(x_test)


def main() -> None:
    run = wandb.init(config=parse_defaults())
    config = wandb.config
    if config.dataset not in DATASETS:
        raise SystemExit(f"unknown dataset {config.dataset!r}: use wine or iris")
    x, y = DATASETS[config.dataset](return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=float(config.test_size), random_state=int(config.seed), stratify=y
    )
    # Trees do not need it, but SGD and the MLP diverge on wine's unscaled features.
    scaler = StandardScaler().fit(x_train)
    x_train, x_test = scaler.transform(x_train), scaler.transform(x_test)

    final: dict = {}
    classes = np.unique(y)
    for epoch, (train_loss, proba) in enumerate(iterations(config, x_train, y_train, x_test)):
        final = scores(y_test, classes[np.argmax(proba, axis=1)])
        row = {"epoch": epoch, "loss": train_loss, **final}
        row["val_loss"] = float(log_loss(y_test, proba, labels=classes))
        wandb.log(row)
        report_live(epoch, row)

    for name, value in final.items():
        run.summary[name] = value
    run.finish()


if __name__ == "__main__":
    main()
