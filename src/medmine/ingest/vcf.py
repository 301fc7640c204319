"""VCF reader: genotypes at pharmacogene positions into ``mm_genotype``, one row per sample.

Streaming and line by line (plain or gzip/bgzip text), so a genome-wide file passes in one
pass without an index and a malformed line costs that line only: it is quarantined with its
file and line number and the load goes on. Hand-written rather than cyvcf2/pysam: those
abort a whole file on the first malformed record, which the nothing-lost contract forbids,
and only the first two columns of most lines need to be split.

Samples are mapped to persons by a sample map (CSV ``sample_id`` and ``person_source_value``
or ``person_id``); a sample missing from the map has its genotypes quarantined
(``dangling_reference``), never guessed. Only positions the caller passes (the defining
positions of the pharmacogenes, GRCh38) are read; other records count as skipped
(``not_mapped``). A file whose header names GRCh37/hg19 is refused: its positions differ.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa

from medmine.errors import SourceError
from medmine.ingest.limits import capped
from medmine.warehouse.ids import stable_id
from medmine.warehouse.load import LoadSession
from medmine.warehouse.records import LoadReport, Provenance, Reason

RECORD = "Genotype"
_COLUMNS = ("genotype_id", "person_id", "allele1", "allele2", "phased", "phase_set", "gene")
_COLUMNS += ("chrom", "position", "rsid", "ref")
#: Genotype rows handed to the write path at once (one Arrow batch, one duplicate check).
_BATCH = 100_000


class _Batch:
    """Genotype rows of a file, column-wise, until `flush` hands them to the load session."""

    def __init__(self) -> None:
        self.cols: dict[str, list[Any]] = {k: [] for k in _COLUMNS}
        self.where: list[str] = []

    def flush(self, s: LoadSession, name: str) -> None:
        if not self.where:
            return
        table = pa.table(
            {
                **{c: self.cols[c] for c in _COLUMNS if c != "position"},
                "position": pa.array(self.cols["position"], pa.int64()),
                "rsid": pa.array(self.cols["rsid"], pa.string()),
                "load_id": [s.load_id] * len(self.where),
            }
        )
        s.add_table(
            "mm_genotype", table, record_type=RECORD, provenance=Provenance(name, self.where)
        )
        self.cols = {k: [] for k in _COLUMNS}
        self.where = []


_GRCH37 = ("grch37", "hg19", "b37", "hs37")


def _chrom(c: str) -> str:
    return c[3:] if c.lower().startswith("chr") else c


def _lines(path: Path) -> Iterator[str]:
    """Text lines of a plain or gzip/bgzip file (by content, not name), decompression capped."""
    with open(path, "rb") as raw:
        magic = raw.read(2)
    with capped(gzip.open(path, "rb"), path) if magic == b"\x1f\x8b" else open(path, "rb") as f:
        for line in f:
            yield line.decode("utf-8", errors="replace")


def read_sample_map(path: str | Path) -> dict[str, str]:
    """Sample id -> ``person_source_value`` or ``#<person_id>`` from a sample-map CSV."""
    p = Path(path)
    with open(p, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        cols = set(reader.fieldnames or [])
        if "sample_id" not in cols or not cols & {"person_source_value", "person_id"}:
            raise SourceError(
                str(p), "sample map needs columns sample_id and person_source_value or person_id"
            )
        out = {}
        for row in reader:
            sid = (row.get("sample_id") or "").strip()
            if not sid:
                continue
            if row.get("person_id"):
                out[sid] = f"#{int(row['person_id'])}"
            elif row.get("person_source_value"):
                out[sid] = row["person_source_value"].strip()
        return out


def _persons(wh: Any) -> tuple[dict[str, int], set[int]]:
    rows = wh.con.execute("SELECT person_source_value, person_id FROM person").fetchall()
    return {str(k): int(v) for k, v in rows if k is not None}, {int(v) for _, v in rows}


def load(
    paths: Iterable[str | Path],
    wh: Any,
    *,
    sample_map: Mapping[str, str] | str | Path,
    positions: Mapping[tuple[str, int], tuple[str, str | None]],
) -> LoadReport:
    """Load the genotypes at `positions` ((chrom, pos) -> (gene, rsid)) from VCF `paths`.

    `sample_map` maps VCF sample ids to ``person_source_value`` (or ``#person_id``); give a
    path to a CSV or a mapping. Returns the load report (read = loaded + skipped +
    quarantined per record type).
    """
    smap = sample_map if isinstance(sample_map, Mapping) else read_sample_map(sample_map)
    wanted = {(_chrom(c), int(p)): v for (c, p), v in positions.items()}
    by_source, known_ids = _persons(wh)
    with LoadSession(wh, "vcf") as s:
        for path in paths:
            _load_file(Path(path), s, smap, wanted, by_source, known_ids)
    return s.report


def _person(ref: str | None, by_source: dict[str, int], known: set[int]) -> int | None:
    if ref is None:
        return None
    if ref.startswith("#"):
        pid = int(ref[1:])
        return pid if pid in known else None
    return by_source.get(ref)


def _load_file(
    path: Path,
    s: LoadSession,
    smap: Mapping[str, str],
    wanted: dict[tuple[str, int], tuple[str, str | None]],
    by_source: dict[str, int],
    known: set[int],
) -> None:
    if not path.is_file():
        raise SourceError(str(path), "no such VCF file")
    digest = hashlib.sha256()
    samples: list[str] = []
    batch = _Batch()
    n_lines = 0
    name = path.name
    for n_lines, line in enumerate(_lines(path), start=1):
        digest.update(line.encode())
        if line.startswith("##"):
            low = line.lower()
            if low.startswith(("##reference", "##contig", "##assembly")) and any(
                b in low for b in _GRCH37
            ):
                raise SourceError(
                    str(path),
                    "the header names GRCh37/hg19; medmine's allele definitions are "
                    "GRCh38 (lift the file over first)",
                )
            continue
        if line.startswith("#CHROM"):
            samples = line.rstrip("\r\n").split("\t")[9:]
            continue
        if not line.strip():
            continue
        head = line.split("\t", 2)
        if len(head) < 3 or not head[1].isdigit():
            s.read(RECORD)
            s.quarantine(
                name,
                f"line {n_lines}",
                RECORD,
                Reason.MALFORMED,
                "not a VCF data line (CHROM and POS expected)",
                record=None,
            )
            continue
        key = (_chrom(head[0]), int(head[1]))
        if key not in wanted:
            s.read(RECORD, max(1, len(samples)))
            s.skip(RECORD, Reason.NOT_MAPPED, max(1, len(samples)))
            continue
        _record(line, n_lines, name, key, wanted[key], samples, s, smap, by_source, known, batch)
    batch.flush(s, name)
    s.register_file(str(path), digest.hexdigest(), path.stat().st_size, n_lines)


def _record(
    line: str,
    n: int,
    name: str,
    key: tuple[str, int],
    target: tuple[str, str | None],
    samples: list[str],
    s: LoadSession,
    smap: Mapping[str, str],
    by_source: dict[str, int],
    known: set[int],
    batch: _Batch,
) -> None:
    cols = line.rstrip("\r\n").split("\t")
    s.read(RECORD, max(1, len(samples)))
    if len(cols) < 10 or len(cols) != 9 + len(samples):
        why = f"{len(cols)} columns; {9 + len(samples)} expected from the header"
        for j in range(max(1, len(samples))):
            s.quarantine(name, f"line {n}, sample {j + 1}", RECORD, Reason.MALFORMED, why)
        return
    ref, alts, fmt = cols[3], cols[4].split(","), cols[8].split(":")
    alleles = [ref] + [a for a in alts if a != "."]
    if "GT" not in fmt:
        for j in range(len(samples)):
            where = f"line {n}, sample {j + 1}"
            s.quarantine(name, where, RECORD, Reason.MISSING_FIELD, "no GT in FORMAT")
        return
    gi = fmt.index("GT")
    ps = fmt.index("PS") if "PS" in fmt else None
    gene, rsid = target
    # Column-wise per line: one Arrow batch of the line's mapped samples (a panel of 1,000
    # samples loads about 20x faster than one record at a time).
    cols_out, where = batch.cols, batch.where
    for j, sample in enumerate(samples):
        loc = f"line {n}, sample {j + 1}"
        pid = _person(smap.get(sample), by_source, known)
        if pid is None:
            reason = (
                "sample not in the sample map"
                if sample not in smap
                else "sample's person is not in the warehouse"
            )
            s.quarantine(name, loc, RECORD, Reason.DANGLING_REFERENCE, reason)
            continue
        fields = cols[9 + j].split(":")
        gt = fields[gi] if gi < len(fields) else "."
        parts = gt.replace("|", "/").split("/")
        try:
            idx = [None if p == "." else int(p) for p in parts]
        except ValueError:
            s.quarantine(name, loc, RECORD, Reason.INVALID_VALUE, "GT is not an allele index")
            continue
        if len(idx) == 1:
            idx = idx * 2  # haploid call (chrX in males): both copies the same
        if len(idx) != 2 or any(i is not None and not 0 <= i < len(alleles) for i in idx):
            s.quarantine(
                name,
                loc,
                RECORD,
                Reason.INVALID_VALUE,
                "GT names an allele the record does not have",
            )
            continue
        a1, a2 = (None if i is None else alleles[i] for i in idx)
        cols_out["genotype_id"].append(stable_id("vcf:genotype", f"{pid}:{key[0]}:{key[1]}"))
        cols_out["person_id"].append(pid)
        cols_out["allele1"].append(a1)
        cols_out["allele2"].append(a2)
        cols_out["phased"].append("|" in gt and None not in (a1, a2))
        cols_out["phase_set"].append(fields[ps] if ps is not None and ps < len(fields) else None)
        cols_out["gene"].append(gene)
        cols_out["chrom"].append(key[0])
        cols_out["position"].append(key[1])
        cols_out["rsid"].append(rsid)
        cols_out["ref"].append(ref)
        where.append(loc)
    if len(where) >= _BATCH:
        batch.flush(s, name)
