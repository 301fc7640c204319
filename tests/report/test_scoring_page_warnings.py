"""The scoring page shows out-of-domain warnings and how the index date was chosen."""

from __future__ import annotations

import pandas as pd

from medmine.report.scoring_page import write_score_page
from medmine.studies.scoring import PersonScore


def test_scoring_page_shows_out_of_domain_warnings_escaped(tmp_path):
    s = PersonScore(
        1,
        "2020-01-01",
        0.2,
        pd.DataFrame({"feature": ["age at index (years)"], "value": [150.0], "shap": [0.1]}),
        "card.json",
        "ab" * 32,
        notes=["index date = end of the person's last inpatient stay (2020-01-01)"],
        warnings=["outside the training domain: age at index (years) = 150 <training 18-99>"],
    )
    write_score_page(tmp_path / "s.html", s, "m.skops", "medmine score", title="t")
    text = (tmp_path / "s.html").read_text()
    assert "outside the model&#x27;s training domain" in text or "training domain" in text
    assert "&lt;training 18-99&gt;" in text
    assert "last inpatient stay" in text
