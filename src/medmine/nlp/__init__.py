"""Clinical NLP: sections, sentences, concept matching and ConText modifiers -> ``note_nlp``.

>>> from medmine.nlp import Pipeline
>>> found = Pipeline().process("Mother had breast cancer. No DVT.")
>>> [(m.concept_name, m.negated, m.family) for m in found]
[('breast cancer', False, True), ('deep vein thrombosis', True, False)]
"""

from medmine.nlp.context import Modifiers, apply_context, find_triggers
from medmine.nlp.pipeline import CODE_VERSION, Mention, Pipeline
from medmine.nlp.sections import Section, detect_sections
from medmine.nlp.sentences import split_sentences
from medmine.nlp.terminology import (
    Term,
    Terminology,
    build_terminology,
    curated,
    terminology_from_duckdb,
)

__all__ = [
    "CODE_VERSION",
    "Mention",
    "Modifiers",
    "Pipeline",
    "Section",
    "Term",
    "Terminology",
    "apply_context",
    "build_terminology",
    "curated",
    "detect_sections",
    "find_triggers",
    "split_sentences",
    "terminology_from_duckdb",
]
