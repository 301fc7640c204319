import json

import numpy as np
import pandas as pd
import pytest

from medmine.evaluate import REQUIRED_SECTIONS, ModelCard, fairness_audit
from medmine.evaluate.fairness import concept_label


def _planted():
    # women: perfect ranking; men: flagged at random. Planted TPR/FPR per group are known.
    rows = []
    for sex, n in ((8532, 200), (8507, 200)):
        for i in range(n):
            y = int(i % 4 == 0)
            flagged = y if sex == 8532 else i % 2 == 0  # men: half of each class flagged
            p = 0.9 if flagged else 0.1
            rows.append((sex, 8527 if i % 3 else 8516, 38003564, 30 + (i % 50), y, p))
    df = pd.DataFrame(
        rows,
        columns=[
            "gender_concept_id",
            "race_concept_id",
            "ethnicity_concept_id",
            "age_at_index",
            "y",
            "p",
        ],
    )
    return df


def test_fairness_table_recovers_planted_group_metrics():
    df = _planted()
    audit = fairness_audit(df["y"], df["p"], df, threshold=0.5)
    sex = audit.by_group.query("attribute == 'sex'").set_index("group")
    assert set(sex.index) == {"female", "male"}
    assert sex.loc["female", "tpr"] == pytest.approx(1.0)
    assert sex.loc["female", "fpr"] == pytest.approx(0.0)
    assert sex.loc["female", "auroc"] == pytest.approx(1.0)
    assert sex.loc["male", "tpr"] == pytest.approx(1.0)  # i % 4 == 0 implies i even
    assert sex.loc["male", "fpr"] == pytest.approx(50 / 150)
    assert sex.loc["male", "n"] == 200
    d = audit.disparities.set_index(["attribute", "metric"])
    assert d.loc[("sex", "auroc"), "lowest_group"] == "male"
    assert d.loc[("sex", "tpr"), "ratio"] == pytest.approx(1.0)
    assert set(audit.by_group.attribute) == {"sex", "race", "ethnicity", "age group"}
    json.dumps(audit.to_dict())


def test_concept_labels():
    assert concept_label(8507) == "male"
    assert concept_label(38003563) == "hispanic"
    assert concept_label(8516) == "black"
    assert concept_label(123) == "other (123)"


def test_model_card_json_has_required_sections(tmp_path):
    card = ModelCard(
        model_details={"name": "m", "auroc": np.float64(0.7)},
        performance={"test": pd.DataFrame({"a": [1.0, np.nan]})},
        limitations=["small sample"],
    )
    data = json.loads(card.write_json(tmp_path / "card.json").read_text())
    assert set(REQUIRED_SECTIONS) <= set(data)
    assert data["performance"]["test"][1]["a"] is None

    from medmine.report.model_card_page import write_card_page

    page = write_card_page(card, tmp_path / "card.html").read_text()
    assert "Limitations" in page and "small sample" in page
