"""Train the recall mode's token classifier (features in ``bench/phi_token_features.py``) and
estimate how it transfers, leave one set out.

Training data: the three independently written fresh sets (tests/data/phi_eval_fresh,
phi_eval_fresh2, phi_eval_fresh3; every note, all reported already) plus the project's own
fixtures (tests/data/phi_notes). A token is PHI when it overlaps a gold span of a Safe
Harbor type (ages under 90 and bare years are left out of training, as the scoring rule
leaves them out).

    .venv/bin/python bench/phi_token_model.py --loso     # cross-set figures, writes
                                                         # bench/results/phi_token_model_loso.json
    .venv/bin/python bench/phi_token_model.py --rules    # the rules alone on the three sets
                                                         # (bench/results/phi_text_devsets.json)
    .venv/bin/python bench/phi_token_model.py --ship     # train on all, write the model to
                                                         # bench/results/phi_token_model.json

Leave one set out: for each fresh set X, the model is trained on the other two fresh sets
and the fixtures; its threshold is chosen without X, by inner cross-validation between the
two training sets (train on one, predict the other; the threshold maximising F2 on the
tokens the rules miss). X is then scored by the evaluation's `score_fresh` with the rules
alone and with the rules united with the model.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LogisticRegression

sys.path.insert(0, str(Path(__file__).resolve().parent))
import phi_text_eval as E  # noqa: E402, N812
import phi_token_features as TM  # noqa: E402, N812
from medmine.privacy.phi_text import Entity, Scrubber, ScrubConfig, Span, merge_spans  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FRESH = ["phi_eval_fresh", "phi_eval_fresh2", "phi_eval_fresh3"]
FIXTURES = ROOT / "tests" / "data" / "phi_notes"
MODEL_OUT = ROOT / "bench" / "results" / "phi_token_model.json"
RESULTS = ROOT / "bench" / "results" / "phi_token_model_loso.json"
#: Regularisation (inverse strength) and the weight below which a feature is dropped from
#: the shipped table; fixed before the leave-one-set-out run.
C = 0.3
PRUNE = 0.02


def load_set(name: str) -> list[dict[str, Any]]:
    return E.load_fresh(ROOT / "tests" / "data" / name / "notes.jsonl")


def load_fixtures() -> list[dict[str, Any]]:
    out = []
    for split in ("dev", "test", "holdout", "blind"):
        for c in E.load(split):
            for s in c["spans"]:
                s.setdefault("type", s.get("entity", "NAME"))
            out.append(c)
    return out


def labelled(cases: list[dict[str, Any]], rules: Scrubber) -> list[tuple[TM.Token, int, bool]]:
    """(token, label, covered by the rules) for every token of `cases` (ungraded tokens out)."""
    out = []
    for c in cases:
        text = c["text"]
        lab = bytearray(len(text))  # 0 none, 1 PHI, 2 not graded
        for g in c["spans"]:
            t = E.fresh_type(g, text)
            v = 2 if t in E._NOT_SAFE_HARBOR else 1
            for i in range(g["start"], g["end"]):
                lab[i] = max(lab[i], v) if lab[i] != 1 else 1
        cov = E._coverage(text, rules.analyze(text))
        for tok in TM.tokens(text):
            seg = lab[tok.start : tok.end]
            if 1 in seg:
                y = 1
            elif 2 in seg:
                continue
            else:
                y = 0
            out.append((tok, y, all(cov[tok.start : tok.end])))
    return out


def fit(rows: list[tuple[TM.Token, int, bool]], threshold: float = 0.5) -> TM.TokenModel:
    vec = DictVectorizer()
    x = vec.fit_transform([dict.fromkeys(t.features, 1) for t, _, _ in rows])
    x = x.tocsr()
    x.indices, x.indptr = x.indices.astype(np.int32), x.indptr.astype(np.int32)  # liblinear
    y = np.array([lab for _, lab, _ in rows])
    clf = LogisticRegression(C=C, max_iter=2000, solver="liblinear")
    clf.fit(x, y)
    names = vec.get_feature_names_out()
    w = {str(n): float(v) for n, v in zip(names, clf.coef_[0], strict=True) if abs(v) >= PRUNE}
    return TM.TokenModel(w, float(clf.intercept_[0]), threshold)


def choose_threshold(probs: np.ndarray, y: np.ndarray, beta: float = 2.0) -> float:
    """The probability cut maximising F-beta on tokens the rules miss."""
    best, best_t = -1.0, 0.5
    for t in np.arange(0.05, 0.96, 0.05):
        pred = probs >= t
        tp = float((pred & (y == 1)).sum())
        fp = float((pred & (y == 0)).sum())
        fn = float((~pred & (y == 1)).sum())
        if tp == 0:
            continue
        p, r = tp / (tp + fp), tp / (tp + fn)
        f = (1 + beta**2) * p * r / (beta**2 * p + r)
        if f > best:
            best, best_t = f, float(round(t, 2))
    return best_t


def uncovered_probs(model: TM.TokenModel, rows) -> tuple[np.ndarray, np.ndarray]:
    keep = [(t, y) for t, y, cov in rows if not cov]
    z = np.array([model.score(t.features) for t, _ in keep])
    return 1 / (1 + np.exp(-z)), np.array([y for _, y in keep])


class Union:
    """Rules plus the model's flagged tokens (as the recognizer does)."""

    def __init__(self, rules: Scrubber, model: TM.TokenModel | None) -> None:
        self.rules, self.model = rules, model

    def analyze(self, text: str) -> list[Span]:  # noqa: D102
        spans = list(self.rules.analyze(text))
        if self.model is not None:
            spans += [
                Span(s, e, Entity.OTHER, 0.5, "token_model") for s, e in self.model.flagged(text)
            ]
        return merge_spans(spans)


def _brief(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "recall_overall": round(r["recall_overall"], 4),
        "recall_groups": {
            k: v["recall"] and round(v["recall"], 4) for k, v in r["recall_groups"].items()
        },
        "recall_per_type": {k: round(v["recall"], 4) for k, v in r["recall_per_type"].items()},
        "precision_spans": round(r["precision_spans"], 4),
        "clinical_tokens_kept": round(r["clinical_tokens_kept"], 4),
        "detected_spans": r["detected_spans"],
    }


def loso() -> dict[str, Any]:
    rules = Scrubber(ScrubConfig(detection="recall"))
    sets = {n: load_set(n) for n in FRESH}
    rows = {n: labelled(c, rules) for n, c in sets.items()}
    fix_rows = labelled(load_fixtures(), rules)
    out: dict[str, Any] = {"C": C, "prune": PRUNE, "folds": {}}
    for held in FRESH:
        a, b = [n for n in FRESH if n != held]
        # inner cross-validation between the two training sets picks the threshold
        pa, ya = uncovered_probs(fit(rows[b] + fix_rows), rows[a])
        pb, yb = uncovered_probs(fit(rows[a] + fix_rows), rows[b])
        thr = choose_threshold(np.concatenate([pa, pb]), np.concatenate([ya, yb]))
        model = fit(rows[a] + rows[b] + fix_rows, thr)
        base = E.score_fresh(sets[held], Union(rules, None))
        both = E.score_fresh(sets[held], Union(rules, model))
        fold = {
            "trained_on": [a, b, "phi_notes fixtures"],
            "threshold": thr,
            "features": len(model.weights),
            "rules": _brief(base),
            "rules_plus_model": _brief(both),
        }
        if held == "phi_eval_fresh3":
            for half in ("dev", "locked"):
                cs = [c for c in sets[held] if c.get("split") == half]
                fold[f"{half}_rules"] = _brief(E.score_fresh(cs, Union(rules, None)))
                fold[f"{half}_rules_plus_model"] = _brief(E.score_fresh(cs, Union(rules, model)))
        out["folds"][held] = fold
        print(
            f"held out {held}: threshold {thr}, {len(model.weights)} features; "
            f"recall {base['recall_overall']:.3f} -> {both['recall_overall']:.3f}, precision "
            f"{base['precision_spans']:.3f} -> {both['precision_spans']:.3f}, clinical kept "
            f"{base['clinical_tokens_kept']:.3f} -> {both['clinical_tokens_kept']:.3f}"
        )
        for g in ("names", "dates", "identifiers", "locations"):
            print(
                f"    {g:12s} {base['recall_groups'][g]['recall']:.3f} -> "
                f"{both['recall_groups'][g]['recall']:.3f}"
            )
    return out


def ship() -> TM.TokenModel:
    rules = Scrubber(ScrubConfig(detection="recall"))
    sets = {n: load_set(n) for n in FRESH}
    rows = {n: labelled(c, rules) for n, c in sets.items()}
    fix_rows = labelled(load_fixtures(), rules)
    probs, ys = [], []
    for held in FRESH:  # the threshold by cross-validation over the three sets
        others = [r for n in FRESH if n != held for r in rows[n]]
        p, y = uncovered_probs(fit(others + fix_rows), rows[held])
        probs.append(p)
        ys.append(y)
    thr = choose_threshold(np.concatenate(probs), np.concatenate(ys))
    model = fit([r for n in FRESH for r in rows[n]] + fix_rows, thr)
    MODEL_OUT.write_text(model.to_json() + "\n", encoding="utf-8")
    print(f"wrote {MODEL_OUT.relative_to(ROOT)}: {len(model.weights)} features, threshold {thr}")
    return model


def rules_only() -> dict[str, Any]:
    """The rules (recall and precise modes) on the three development sets and the third
    set's halves; written to bench/results/phi_text_devsets.json (tuned-on figures).
    """
    out: dict[str, Any] = {"note": "all three sets are development data: tuned-on figures"}
    for mode in ("recall", "precise"):
        det = Union(Scrubber(ScrubConfig(detection=mode)), None)
        for name in FRESH:
            cases = load_set(name)
            groups = {"all": cases}
            if name == "phi_eval_fresh3":
                for half in ("dev", "locked"):
                    groups[half] = [c for c in cases if c.get("split") == half]
            for part, cs in groups.items():
                r = _brief(E.score_fresh(cs, det))
                out[f"{mode}/{name}/{part}"] = r
                print(
                    f"{mode:8s} {name:16s} {part:6s} notes {len(cs):3d} recall "
                    f"{r['recall_overall']:.3f} precision {r['precision_spans']:.3f} clinical "
                    f"kept {r['clinical_tokens_kept']:.3f} {r['recall_groups']}"
                )
    path = ROOT / "bench" / "results" / "phi_text_devsets.json"
    path.write_text(json.dumps(out, indent=2), encoding="utf-8")
    print(f"wrote {path.relative_to(ROOT)}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--loso", action="store_true", help="leave-one-set-out figures")
    ap.add_argument("--ship", action="store_true", help="train on everything, write the model")
    ap.add_argument("--rules", action="store_true", help="the rules alone on the three sets")
    a = ap.parse_args()
    t0 = time.process_time()
    if a.loso:
        res = loso()
        res["cpu_s"] = round(time.process_time() - t0, 1)
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(res, indent=2), encoding="utf-8")
        print(f"wrote {RESULTS.relative_to(ROOT)}")
    if a.ship:
        ship()
    if a.rules:
        rules_only()


if __name__ == "__main__":
    main()
