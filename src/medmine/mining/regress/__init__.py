"""Regressors for length of stay and cost: Poisson/Tweedie GLM, LightGBM on log target, baselines.

>>> import numpy as np
>>> from medmine.mining.regress import PoissonGLMRegressor
>>> X = np.arange(40, dtype=float).reshape(-1, 1); y = np.exp(X[:, 0] / 20)
>>> PoissonGLMRegressor().fit(X, y).predict(X[:2]).shape
(2,)
"""

from medmine.mining.regress._models import (
    BaselineRegressor,
    LogTargetLightGBMRegressor,
    PoissonGLMRegressor,
)

__all__ = ["BaselineRegressor", "LogTargetLightGBMRegressor", "PoissonGLMRegressor"]
