"""A logistic regression on post-text embeddings that lets confident posts skip the LLM relevance call.

Training labels are the stored LLM relevance decisions (relevance.judge = 'llm', `passed`). Nothing is
decided until filter.prefilter_min_labels labels of both classes exist. Candidates are what the LLM
relevance stage would judge next: tree roots whose cheap filter passed and that have no prefilter or llm
row. A candidate whose probability of relevance is >= filter.prefilter_confidence gets a 'prefilter'
row with passed=true, one <= 1 - confidence gets passed=false; the rest get no row and go to the LLM.

Before deciding, the classifier is checked on a held-back stratified quarter of the labels (seed 0):
- holdout_keep_recall: share of LLM-relevant posts the prefilter would not reject (passed or deferred);
- holdout_recall / holdout_precision: of confident passes against LLM-relevant posts;
- holdout_decided_share: share of posts it would decide (the calls it would save).
If holdout_keep_recall is below filter.prefilter_min_recall, this run makes no rejections (only confident
passes): a weak classifier never drops what the LLM would keep. The production model is then refit on
all labels; its id is prefilter:logreg:<hash of the training set>.

More than filter.prefilter_max_labels labels (a bulk import) are cut down by `cap_labels`: a fixed, hash-ordered
choice that keeps the rarer class whole where it can, so the same labels are chosen run after run (their
embeddings stay cached) and a few new labels change the set by a few.

A fitted model is stored (prefilter_models: its weights, its training labels, its checks) and refit only when
the capped labels have moved by more than filter.prefilter_refit_share (`label_drift`): a nightly run with a few
new labels reuses it instead of paying for a cross-validated fit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field

import numpy as np

PROMPT_VERSION = "prefilter-v1"
HOLDOUT_SHARE = 0.25
SEED = 0


def label_rank(key: str) -> str:
    """A post's place in the hash order labels are capped by (stable across runs and machines)."""
    return hashlib.sha256(key.encode()).hexdigest()


def cap_labels(keys: list[str], y: np.ndarray, cap: int) -> np.ndarray:
    """Indices of at most `cap` labels: each class gets half the cap, a class with fewer takes all it has and
    leaves the rest to the other; within a class the smallest `label_rank` win. Sorted indices."""
    if len(keys) <= cap:
        return np.arange(len(keys))
    by_class = {c: sorted(np.flatnonzero(y == c).tolist(), key=lambda i: label_rank(keys[i])) for c in (0, 1)}
    small, large = sorted((0, 1), key=lambda c: len(by_class[c]))
    take_small = min(len(by_class[small]), cap // 2)
    chosen = by_class[small][:take_small] + by_class[large][:cap - take_small]
    return np.array(sorted(chosen), dtype=int)


def label_keys(keys: list[str], y: np.ndarray) -> list[str]:
    """The training labels as 'platform:post_id=0|1', sorted: what a stored model was fit on."""
    return sorted(f"{k}={int(v)}" for k, v in zip(keys, y.tolist()))


def label_drift(fitted: list[str], current: list[str]) -> float:
    """Share of today's labels that the fitted model did not see as they are now (new, changed or gone)."""
    return len(set(fitted) ^ set(current)) / max(len(current), 1)


@dataclass
class Prefilter:
    coef: np.ndarray  # (dim,) weights on the L2-normalized embedding
    intercept: float
    model_id: str
    confidence: float
    allow_reject: bool
    metrics: dict[str, float] = field(default_factory=dict)

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """p(relevant): the binary logistic regression's own formula, so a stored model decides as the fit did."""
        z = np.asarray(x, dtype=np.float64) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    def decide(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(decision, p): decision 1 pass, 0 reject, -1 defer to the LLM."""
        p = self.probabilities(x)
        d = np.full(p.shape, -1)
        d[p >= self.confidence] = 1
        if self.allow_reject:
            d[p <= 1.0 - self.confidence] = 0
        return d, p


def model_row(model: Prefilter, keys: list[str], embed_model: str, run_id: str | None) -> dict:
    """The prefilter_models row of a fitted model."""
    return {"model_id": model.model_id, "embed_model": embed_model, "run_id": run_id,
            "created_at": dt.datetime.now(dt.UTC), "label_keys": keys, "coef": model.coef.tolist(),
            "intercept": model.intercept, "metrics": model.metrics}


def from_row(row: dict, *, confidence: float, min_recall: float) -> Prefilter:
    """A stored model, with today's confidence and recall floor (those are decisions, not part of the fit)."""
    metrics = row["metrics"] if isinstance(row["metrics"], dict) else json.loads(row["metrics"] or "{}")
    return Prefilter(np.asarray(row["coef"], dtype=np.float64), float(row["intercept"]), row["model_id"], confidence,
                     metrics.get("holdout_keep_recall", 0.0) >= min_recall, metrics)


def _classifier():
    """Logistic regression whose regularization is picked by 5-fold cross-validated log-loss: probabilities
    on unit-norm embeddings are only as confident as the labels support."""
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.model_selection import StratifiedKFold

    return LogisticRegressionCV(Cs=np.logspace(-2, 3, 6), cv=StratifiedKFold(5, shuffle=True, random_state=SEED),
                                scoring="neg_log_loss", max_iter=3000, class_weight="balanced",
                                l1_ratios=(0.0,), use_legacy_attributes=False)


def holdout_metrics(x: np.ndarray, y: np.ndarray, confidence: float) -> dict[str, float]:
    """Fit on a stratified 75% and score the confident decisions on the other 25%."""
    from sklearn.model_selection import train_test_split

    xtr, xte, ytr, yte = train_test_split(x, y, test_size=HOLDOUT_SHARE, stratify=y, random_state=SEED)
    clf = _classifier().fit(xtr, ytr)
    p = clf.predict_proba(xte)[:, 1]
    passed, rejected = p >= confidence, p <= 1.0 - confidence
    pos = yte == 1
    tp = int((passed & pos).sum())
    return {
        "holdout_size": int(yte.size),
        "holdout_keep_recall": round(1.0 - float((rejected & pos).sum()) / max(int(pos.sum()), 1), 4),
        "holdout_recall": round(tp / max(int(pos.sum()), 1), 4),
        "holdout_precision": round(tp / max(int(passed.sum()), 1), 4) if passed.any() else 1.0,
        "holdout_reject_precision": (round(float((rejected & ~pos).sum()) / int(rejected.sum()), 4)
                                     if rejected.any() else 1.0),
        "holdout_decided_share": round(float((passed | rejected).mean()), 4),
    }


def train(x: np.ndarray, y: np.ndarray, keys: list[str], *, confidence: float, min_recall: float,
          embed_model: str) -> Prefilter:
    """Check on a held-back split, then fit on every label. `keys` are the label_keys of (x, y)."""
    metrics = holdout_metrics(x, y, confidence)
    clf = _classifier().fit(x, y)
    if list(clf.classes_) != [0, 1]:
        raise ValueError(f"the prefilter needs labels of both classes, got {list(clf.classes_)}")
    h = hashlib.sha256(embed_model.encode())
    for k in sorted(keys):
        h.update(f"{k}\n".encode())
    allow_reject = metrics["holdout_keep_recall"] >= min_recall
    return Prefilter(np.asarray(clf.coef_[0], dtype=np.float64), float(clf.intercept_[0]),
                     f"prefilter:logreg:{h.hexdigest()[:12]}", confidence, allow_reject, metrics)
