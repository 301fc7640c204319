"""Window-limited generalized likelihood-ratio (GLR) detector for Poisson or NB counts.

No maintained Python implementation exists (the reference is R ``surveillance::glrnb`` /
``glrpois``); this implements Höhle & Paul 2008 (*Comput Stat Data Anal* 52:4357), with the
window limit of Lai 1995 (*JRSS B* 57:613). With in-control means ``mu_i`` (the
`InControlModel` of the CUSUM) and a multiplicative increase ``kappa >= 1`` starting at an
unknown period k within the last `window` periods since the last alarm,

    GLR_t = max_k sup_{kappa >= 1} sum_{i=k}^{t} log f(y_i; kappa mu_i) / f(y_i; mu_i).

Poisson: ``kappa_hat = max(1, Y/U)`` with ``Y = sum y_i``, ``U = sum mu_i``, and the log-ratio
``Y log kappa_hat - (kappa_hat - 1) U`` (closed form). Negative binomial (size
``r_i = mu_i / (phi - 1)``): ``kappa_hat`` by Newton steps on ``log kappa`` of the score
``sum y_i / kappa - (y_i + r_i) mu_i / (r_i + kappa mu_i)``. Alarm when GLR_t > h; after an
alarm the change-point search restarts.
"""

from __future__ import annotations

import numpy as np

from medmine.surveillance._base import Detection, Detector, check_param
from medmine.surveillance._cusum import InControlModel
from medmine.surveillance._glm import nb_size, upper_tail


def _loglik_ratio(
    Y: np.ndarray,
    U: np.ndarray,
    yk: np.ndarray | None,
    mk: np.ndarray | None,
    r: np.ndarray | None,
    newton: int = 4,
) -> np.ndarray:
    """Max over kappa >= 1 of the log-likelihood ratio of each window.

    ``Y, U`` are window sums ``(S, M)``; for the NB, ``yk, mk, r`` hold the per-period values
    ``(S, M, M)`` of each window (masked entries have mu 0).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        kap = np.maximum(1.0, np.where(U > 0, Y / U, 1.0))
        if r is None:
            return np.where(kap > 1, Y * np.log(kap) - (kap - 1) * U, 0.0)
        lk = np.log(kap)
        for _ in range(newton):
            k = np.exp(lk)[..., None]
            den = r + k * mk
            g = (yk - (yk + r) * k * mk / den).sum(-1)  # d/dlogk
            hss = (-(yk + r) * k * mk * r / den**2).sum(-1)
            step = np.where(hss < 0, g / hss, 0.0)
            lk = np.maximum(0.0, lk - step)
        k = np.exp(lk)[..., None]
        ll = (yk * np.log(k) + (yk + r) * (np.log(r + mk) - np.log(r + k * mk))).sum(-1)
        return np.maximum(ll, 0.0)


class GLR(Detector):
    """Poisson or negative-binomial GLR for an increase of unknown size and start.

    Parameters
    ----------
    distribution
        ``"poisson"`` or ``"nb"`` (dispersion from the in-control model).
    h
        Decision limit on the GLR statistic (5.0).
    window
        Longest change-point window searched, in periods (13).
    harmonics, min_years
        As for `NBCusum`.
    compute_threshold
        Also find, per period, the count that would alarm (a bisection: 15 more GLR
        evaluations per period; the evaluation and benchmark turn it off).
    """

    name = "glr"

    def __init__(
        self,
        distribution: str = "nb",
        h: float = 5.0,
        window: int = 13,
        harmonics: int = 2,
        min_years: float = 2.0,
        compute_threshold: bool = True,
    ) -> None:
        self.distribution = distribution
        self.compute_threshold = compute_threshold
        self.h = h
        self.window = window
        self.harmonics = harmonics
        self.min_years = min_years

    def _check_params(self) -> None:
        own = type(self).__name__
        check_param(own, "distribution", self.distribution, "str", options=("poisson", "nb"))
        check_param(own, "h", self.h, "float", 1e-6)
        check_param(own, "window", self.window, "int", 1, 104)
        check_param(own, "harmonics", self.harmonics, "int", 0, 6)
        check_param(own, "min_years", self.min_years, "float", 0)

    def min_baseline(self, period: int) -> int:
        return max(int(np.ceil(self.min_years * period)), 8)

    def _fit(self, baseline: np.ndarray) -> None:
        self.model_ = InControlModel(self.period_, self.harmonics).fit(baseline)

    def _stat(
        self, ybuf: np.ndarray, mbuf: np.ndarray, valid: np.ndarray, r: np.ndarray | None
    ) -> np.ndarray:
        """GLR of the buffers ``(S, M)`` (last column = current period) over valid windows."""
        S, M = ybuf.shape
        Y = np.cumsum(ybuf[:, ::-1], axis=1)  # Y[:, L-1] = sum of the last L periods
        U = np.cumsum(mbuf[:, ::-1], axis=1)
        if r is None:
            lr = _loglik_ratio(Y, U, None, None, None)
        else:
            # only windows with more cases than expected can have kappa_hat > 1: the others
            # are 0, so the Newton steps run on the active (series, window) pairs alone
            lr = np.zeros((S, M))
            si, li = np.nonzero(valid & (Y > U))
            if len(si):
                tri = np.tril(np.ones((M, M)))  # window L-1 holds the last L periods
                mask = tri[li]
                yk = ybuf[si, ::-1] * mask
                mk = mbuf[si, ::-1] * mask
                rk = np.where(mask > 0, r[si, ::-1], 1.0)
                lr[si, li] = _loglik_ratio(Y[si, li], U[si, li], yk, mk, rk)
        return np.where(valid, lr, 0.0).max(axis=1)

    def _detect(self, y: np.ndarray) -> Detection:
        S, T = y.shape
        M = self.window
        mu0 = self.model_.mean(self.model_.n_, T)
        phi = np.broadcast_to(self.model_.phi_[:, None], mu0.shape)
        nb = self.distribution == "nb"
        r = nb_size(mu0, phi) if nb else None
        if r is not None:
            r = np.where(np.isfinite(r), r, 1e8)  # phi == 1: NB with huge size = Poisson
        ybuf = np.zeros((S, M))
        mbuf = np.zeros((S, M))
        rbuf = np.ones((S, M))
        since = np.zeros(S, dtype=int)  # periods since the last alarm (restart)
        glr = np.zeros((S, T))
        thr = np.full((S, T), np.nan)
        alarm = np.zeros((S, T), dtype=bool)
        lengths = np.arange(1, M + 1)
        keep = self.compute_threshold
        if keep:  # buffers of every period, for one batched threshold search at the end
            yb, mb = np.zeros((S, T, M)), np.zeros((S, T, M))
            rb_all, vb = np.ones((S, T, M)), np.zeros((S, T, M), dtype=bool)
        for j in range(T):
            ybuf = np.roll(ybuf, -1, axis=1)
            mbuf = np.roll(mbuf, -1, axis=1)
            ybuf[:, -1], mbuf[:, -1] = y[:, j], mu0[:, j]
            if nb:
                rbuf = np.roll(rbuf, -1, axis=1)
                rbuf[:, -1] = r[:, j]
            since = since + 1
            valid = lengths[None, :] <= np.minimum(since, j + 1)[:, None]
            rb = rbuf if nb else None
            glr[:, j] = self._stat(ybuf, mbuf, valid, rb)
            alarm[:, j] = glr[:, j] > self.h
            if keep:
                yb[:, j], mb[:, j], vb[:, j] = ybuf, mbuf, valid
                if nb:
                    rb_all[:, j] = rbuf
            since = np.where(alarm[:, j], 0, since)
        if keep:
            flat = (S * T, M)
            thr = self._threshold(
                yb.reshape(flat),
                mb.reshape(flat),
                vb.reshape(flat),
                rb_all.reshape(flat) if nb else None,
            ).reshape(S, T)
        pval = upper_tail(y, mu0, phi if nb else np.ones_like(mu0))
        return Detection(y, mu0, thr, alarm, glr, pval, method=f"glr-{self.distribution}")

    def _threshold(
        self, ybuf: np.ndarray, mbuf: np.ndarray, valid: np.ndarray, r: np.ndarray | None
    ) -> np.ndarray:
        """Smallest current count at which the GLR would pass h (bisection, 0.01 precision)."""
        lo = np.zeros(ybuf.shape[0])
        hi = np.maximum(mbuf[:, -1], 1.0) * 4 + 4 * self.h + 10
        for _ in range(3):  # widen until the upper end alarms
            b = ybuf.copy()
            b[:, -1] = hi
            over = self._stat(b, mbuf, valid, r) > self.h
            hi = np.where(over, hi, hi * 4)
        for _ in range(14):
            mid = (lo + hi) / 2
            b = ybuf.copy()
            b[:, -1] = mid
            over = self._stat(b, mbuf, valid, r) > self.h
            hi = np.where(over, mid, hi)
            lo = np.where(over, lo, mid)
        return hi
