"""SHAP explanations: global importance and per-person contributions, on the model's link scale.

Classifiers are explained in log-odds; the length-of-stay regressors on the log scale of the
target (their link).

Tree models (LightGBM; decision trees, on the probability scale) use `shap.TreeExplainer`;
L1-logistic models use `shap.LinearExplainer` (interventional, against a background sample).
For a calibrated wrapper the explanation is of the underlying model, whose log-odds the
monotone calibration map preserves in rank.

>>> import numpy as np
>>> from medmine.mining.classify import LightGBMClassifier
>>> X = np.random.default_rng(0).normal(size=(300, 3)); y = (X[:, 0] > 0).astype(int)
>>> model = LightGBMClassifier(n_estimators=20).fit(X, y)
>>> explain(model, X, ["a", "b", "c"], max_rows=50).importance["feature"].iloc[0]
'a'
"""

from __future__ import annotations

import contextlib
import warnings
import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.tree import DecisionTreeClassifier

from medmine.mining.classify import L1LogisticClassifier, LightGBMClassifier, PersonLevelSearchCV
from medmine.mining.regress import LogTargetLightGBMRegressor, PoissonGLMRegressor


@dataclass
class Explanation:
    """SHAP values of sampled rows, with the global ranking of covariates."""

    values: np.ndarray  # (n_rows, n_features), log-odds contributions
    base_value: float
    feature_names: list[str]
    rows: np.ndarray  # row positions (in the X passed) that were explained
    kind: str  # "tree" | "linear"

    @property
    def importance(self) -> pd.DataFrame:
        """Covariates by mean |SHAP| (``feature``, ``mean_abs_shap``, ``mean_shap``)."""
        df = pd.DataFrame(
            {
                "feature": self.feature_names,
                "mean_abs_shap": np.abs(self.values).mean(axis=0),
                "mean_shap": self.values.mean(axis=0),
            }
        )
        return df.sort_values("mean_abs_shap", ascending=False, ignore_index=True)


def base_model(model: Any) -> Any:
    """The estimator SHAP explains: unwraps `PersonLevelSearchCV` to its refitted model."""
    return model.estimator_ if isinstance(model, PersonLevelSearchCV) else model


def _dense(X: Any) -> np.ndarray:
    return np.asarray(X.toarray() if sp.issparse(X) else X, dtype=np.float64)


#: One `shap.TreeExplainer` per fitted tree model: building one parses every tree (about
#: 0.2 s for a 200-tree LightGBM model), so a server explaining one person at a time reuses it.
_TREE_EXPLAINERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _tree_explainer(tree_model: Any) -> Any:
    """The cached path-dependent `shap.TreeExplainer` of `tree_model` (built on first use)."""
    import shap

    try:
        return _TREE_EXPLAINERS[tree_model]
    except (KeyError, TypeError):
        pass
    explainer = shap.TreeExplainer(tree_model)
    with contextlib.suppress(TypeError):  # not weak-referenceable: used uncached
        _TREE_EXPLAINERS[tree_model] = explainer
    return explainer


def _shap_values(model: Any, X_rows: Any, background: Any) -> tuple[np.ndarray, float, str]:
    import shap

    est = base_model(model)
    if isinstance(est, LogTargetLightGBMRegressor):
        explainer = _tree_explainer(est.booster_)
        vals = np.asarray(explainer.shap_values(_dense(X_rows)))
        return vals, float(np.ravel(explainer.expected_value)[0]), "tree"
    if isinstance(est, PoissonGLMRegressor):
        explainer = shap.LinearExplainer((est.coef_, est.intercept_), _dense(background))
        vals = np.asarray(explainer.shap_values(_dense(X_rows)))
        return vals, float(np.ravel(explainer.expected_value)[0]), "linear"
    if isinstance(est, LightGBMClassifier):
        explainer = _tree_explainer(est.booster_)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "output has changed to a list"
            vals = explainer.shap_values(_dense(X_rows))
        vals = np.asarray(vals[-1] if isinstance(vals, list) else vals)
        if vals.ndim == 3:
            vals = vals[..., -1]
        base = np.ravel(explainer.expected_value)[-1]
        return vals, float(base), "tree"
    if isinstance(est, DecisionTreeClassifier):
        # probability scale: a tree's leaves are outcome rates, not log-odds
        explainer = shap.TreeExplainer(est)
        vals = explainer.shap_values(_dense(X_rows))
        vals = np.asarray(vals[-1] if isinstance(vals, list) else vals)
        if vals.ndim == 3:
            vals = vals[..., -1]
        return vals, float(np.ravel(explainer.expected_value)[-1]), "tree"
    if isinstance(est, L1LogisticClassifier) and est.coef_.shape[0] == 1:
        explainer = shap.LinearExplainer(
            (est.coef_[0], float(est.intercept_[0])), _dense(background)
        )
        vals = np.asarray(explainer.shap_values(_dense(X_rows)))
        return vals, float(np.ravel(explainer.expected_value)[0]), "linear"
    raise TypeError(
        f"cannot explain a {type(est).__name__}; explanations support binary "
        "L1LogisticClassifier and LightGBMClassifier models, and the log-link regressors"
    )


def explain(
    model: Any,
    X: Any,
    feature_names: list[str],
    *,
    max_rows: int = 500,
    background_rows: int = 200,
    random_state: int | None = 0,
) -> Explanation:
    """SHAP values of up to `max_rows` sampled rows of `X` (for speed)."""
    n = X.shape[0]
    rng = np.random.default_rng(random_state)
    rows = np.sort(rng.choice(n, size=min(max_rows, n), replace=False))
    bg = np.sort(rng.choice(n, size=min(background_rows, n), replace=False))
    vals, base, kind = _shap_values(model, X[rows], X[bg])
    return Explanation(vals, base, list(feature_names), rows, kind)


def explain_rows(
    model: Any,
    X_rows: Any,
    feature_names: list[str],
    background: Any,
    *,
    top: int = 10,
) -> list[pd.DataFrame]:
    """Per-row top contributions (``feature``, ``value``, ``shap``), largest |SHAP| first."""
    vals, _, _ = _shap_values(model, X_rows, background)
    dense = _dense(X_rows)
    out = []
    for i in range(vals.shape[0]):
        order = np.argsort(-np.abs(vals[i]))[:top]
        out.append(
            pd.DataFrame(
                {
                    "feature": [feature_names[j] for j in order],
                    "value": dense[i, order],
                    "shap": vals[i, order],
                }
            )
        )
    return out
