"""Outbreak detection over count series: detectors, syndromic counts from the warehouse,
false-discovery control across areas and evaluation on simulated outbreaks.

Detectors share one contract (`Detector`): ``fit(baseline)`` then ``detect(counts)`` gives
per period the expected count, an upper threshold, an alarm flag, a score and a p-value.
"""

from medmine.surveillance._base import Detection, Detector, SeriesTooShortError
from medmine.surveillance._cusum import InControlModel, NBCusum
from medmine.surveillance._ears import EARS
from medmine.surveillance._farrington import FarringtonFlexible
from medmine.surveillance._glr import GLR
from medmine.surveillance.detectors import METHODS, make_detector
from medmine.surveillance.fdr import bh_qvalues, fdr_alarms

__all__ = [
    "EARS",
    "GLR",
    "METHODS",
    "Detection",
    "Detector",
    "FarringtonFlexible",
    "InControlModel",
    "NBCusum",
    "SeriesTooShortError",
    "bh_qvalues",
    "fdr_alarms",
    "make_detector",
]
