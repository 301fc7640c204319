"""`medmine link`: plain files with a column mapping, and the warehouse's identities."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
from typer.testing import CliRunner

from medmine.cli import app
from medmine.quality.linkage import evaluate_clusters
from medmine.synth.linkage import make_identities
from medmine.warehouse import Warehouse
from medmine.warehouse.schema import table

FEBRL = Path(__file__).parents[1] / "data" / "febrl"
MAP = (
    "unique_id=rec_id,family_name=surname,birth_date=date_of_birth,ssn=soc_sec_id,"
    "zip=postcode,city=suburb,address_line=address_1,address_line2=address_2"
)


def _febrl_csv(tmp_path: Path, name: str, rows: int = 1500) -> tuple[Path, list[str]]:
    """The first `rows` records of a FEBRL4 file, as a plain CSV."""
    with gzip.open(FEBRL / f"{name}.csv.gz", "rt") as fh:
        lines = fh.read().splitlines()
    header = ",".join(c.strip() for c in lines[0].split(","))
    body = [",".join(c.strip() for c in ln.split(",")) for ln in lines[1:]]
    keep = sorted(body, key=lambda ln: int(re.match(r"rec-(\d+)", ln).group(1)))[:rows]
    path = tmp_path / f"{name}.csv"
    path.write_text("\n".join([header, *keep]) + "\n")
    return path, [ln.split(",")[0] for ln in keep]


def test_two_csv_files_link_with_one_command(tmp_path):
    a, ids_a = _febrl_csv(tmp_path, "dataset4a")
    b, ids_b = _febrl_csv(tmp_path, "dataset4b")
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["link", str(a), str(b), "--out", str(out), "--map", MAP,
                                   "--mode", "link"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "3,000 identities" in res.output and "clusters" in res.output
    clusters = pacsv.read_csv(out / "clusters.csv").to_pylist()
    pairs = pacsv.read_csv(out / "pairs.csv")
    assert {"match_weight", "match_probability", "linked"} <= set(pairs.column_names)
    assert len(clusters) == 3000
    pred = {f"{r['source']}:{r['unique_id']}": r["cluster_id"] for r in clusters}
    truth = {f"{s}:{i}": re.match(r"rec-\d+", i).group(0)
             for s, ids in (("dataset4a", ids_a), ("dataset4b", ids_b)) for i in ids}  # fmt: skip
    m = evaluate_clusters(pred, truth)
    assert m.pairwise_f1 >= 0.99, m
    page = (out / "linkage.html").read_text()
    assert "Precision / recall curve" in page and "Example pairs" in page
    # no person's values on the page or in the output
    for value in ("michaela", "neumann", "5304218"):
        assert value not in page and value not in res.output


def test_mapping_naming_a_missing_column_fails_in_one_line(tmp_path):
    a, _ = _febrl_csv(tmp_path, "dataset4a", rows=50)
    res = CliRunner().invoke(app, ["link", str(a), "--out", str(tmp_path / "o"), "--map",
                                   "given_name=first"])  # fmt: skip
    assert res.exit_code == 1
    assert "no column 'first'" in res.output and "Traceback" not in res.output


def test_unknown_field_and_missing_out_are_refused(tmp_path):
    a, _ = _febrl_csv(tmp_path, "dataset4a", rows=50)
    r1 = CliRunner().invoke(app, ["link", str(a), "--out", str(tmp_path), "--map", "nom=x"])
    assert r1.exit_code == 1 and "unknown field 'nom'" in r1.output
    r2 = CliRunner().invoke(app, ["link", str(a)])
    assert r2.exit_code == 1 and "--out" in r2.output
    r3 = CliRunner().invoke(app, ["link", str(tmp_path / "nope.csv"), "--out", str(tmp_path)])
    assert r3.exit_code == 1 and "not found" in r3.output


def test_warehouse_link_writes_clusters_pairs_and_page(tmp_path):
    rows, _truth = make_identities(300, seed=5)
    db = tmp_path / "link.duckdb"
    with Warehouse(db) as wh:
        spec = table("mm_person_identity")
        t = pa.Table.from_pylist(  # noqa: F841  (read by DuckDB)
            [{c: r.get(c) for c in spec.column_names} for r in rows], schema=spec.arrow_schema()
        )
        wh.con.execute("INSERT INTO mm_person_identity BY NAME SELECT * FROM t")
    res = CliRunner().invoke(app, ["link", "-w", str(db), "--out", str(tmp_path / "r")])
    assert res.exit_code == 0, res.output
    assert f"{len(rows):,} identities" in res.output
    with Warehouse(db, read_only=True) as wh:
        assert wh.count("mm_person_link") == len(rows)
        assert wh.count("mm_person_link_pair") > 0
    page = (tmp_path / "r" / "linkage.html").read_text()
    # identifiers that cannot occur by chance in the page's own text
    values = {r.get(k) for r in rows for k in ("email", "phone", "address_line")} - {None, ""}
    assert values and not any(v in page or v in res.output for v in values)
