"""Extract PharmCAT's own named-allele-matcher test cases into a fixture medmine can score.

    python tools/pgx_pharmcat_cases.py /path/to/PharmCAT tests/data/pgx/pharmcat

PharmCAT's Java tests (src/test/java/.../haplotype/NamedAlleleMatcher<Gene>Test.java) either
build a VCF from ``.variation(gene, rsid, allele, allele)`` edits (every other defining position
reference, ``0/0``) or read a VCF from their test resources, and assert the list of diplotypes
PharmCAT returns (all consistent diplotypes by descending score, or the top one only). Those
cases were written by PharmCAT's authors, not by medmine's: known answers medmine was not
tuned to. Kept: tests with one matcher call and one asserted list, built from plain
``variation``/``missing``/``phased`` edits or a resource VCF, without combination search;
the others are counted as skipped with the construct that stopped them. Writes
``cases.json`` and copies the resource VCFs beside it.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

GENES = {
    "Cyp2c19": "CYP2C19",
    "Cyp2c9": "CYP2C9",
    "Slco1b1": "SLCO1B1",
    "Tpmt": "TPMT",
    "Vkorc1": "VKORC1",
}
BASE = "src/test/java/org/pharmgkb/pharmcat/haplotype"
RES = "src/test/resources/"
ALLOWED = {"variation", "missing", "phased", "generate"}


def _show(repo: Path, path: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), "show", f"HEAD:{path}"], capture_output=True, text=True
    ).stdout


def _strings(text: str) -> list[str]:
    return re.findall(r'"((?:[^"\\]|\\.)*)"', text)


def _case(body: str) -> tuple[dict | None, str]:
    if body.count("testMatchNamedAlleles(") != 1 or body.count("assertDiplotypePairs(") != 1:
        return None, "several matcher calls or assertions"
    a = re.search(
        r'assertDiplotypePairs\(\s*("[^"]*"|[A-Za-z_.]+\((?:"[^"]*"|[^()"])*\)|\w+)\s*,', body
    )
    if not a:
        return None, "no assertDiplotypePairs"
    arg = a.group(1)
    if arg.startswith('"') or "(" in arg:
        expected = _strings(arg)
    else:
        v = re.search(
            rf'{arg}\s*=\s*(?:Lists\.newArrayList|List\.of)\(((?:"[^"]*"|[^()"])*)\)', body
        )
        if not v:
            return None, "expected list not found"
        expected = _strings(v.group(1))
    call = body[body.index("testMatchNamedAlleles(") :]
    flags = re.findall(r"\b(true|false)\b", call.split(".generate()")[-1].split(";")[0])
    top = False
    if len(flags) == 1:
        top = flags[0] == "true"
    elif len(flags) == 2:
        if flags[0] == "true":
            return None, "combination search"
        top = flags[1] == "true"
    elif len(flags) == 3:
        top = flags[0] == "true"
    elif flags:
        return None, "unknown matcher flags"
    case: dict = {"expected": expected, "top_only": top}
    res = re.search(r'getPathToResource\("([^"]+\.vcf)"\)', body)
    if res and "TestVcfBuilder" not in body:
        case["vcf"] = res.group(1)
        return case, ""
    if "TestVcfBuilder" not in body:
        return None, "no input found"
    builder = body[body.index("TestVcfBuilder") :].split(".generate()")[0]
    edits: dict[str, list[str]] = {}
    missing: list[str] = []
    phased = False
    for name, args in re.findall(r"\.(\w+)\(([^()]*)\)", builder):
        if name not in ALLOWED:
            return None, name
        if name == "phased":
            phased = True
        elif name == "missing":
            missing += _strings(args)[1:]
        elif name == "variation":
            s = _strings(args)
            if re.search(r",\s*(true|false)\s*,", args) or len(s) != 4:
                return None, "variation with phase flag or haploid"
            edits[s[1]] = s[2:]
    case.update({"variation": edits, "missing": missing, "phased": phased})
    return case, ""


def main(repo: Path, out: Path) -> None:
    """Extract the cases of the PharmCAT checkout `repo` into folder `out`."""
    commit = (
        _show(repo, "HEAD")
        and subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
    )
    out.mkdir(parents=True, exist_ok=True)
    cases, skipped = [], {}
    for stem, gene in GENES.items():
        src = _show(repo, f"{BASE}/NamedAlleleMatcher{stem}Test.java")
        for m in re.finditer(r"@Test\s+void\s+(\w+)\s*\([^)]*\)[^{]*\{(.*?)\n  \}", src, re.S):
            case, why = _case(m.group(2))
            if case is None:
                skipped[why] = skipped.get(why, 0) + 1
                continue
            if "vcf" in case:
                target = out / Path(case["vcf"]).name.replace(".vcf", f".{gene}.vcf")
                target.write_text(_show(repo, RES + case["vcf"]))
                case["vcf"] = target.name
            cases.append({"gene": gene, "test": m.group(1), **case})
    doc = {
        "source": f"PharmCAT {commit}: {BASE}/NamedAlleleMatcher*Test.java and their test "
        "VCFs (MPL-2.0)",
        "cases": cases,
        "skipped": skipped,
    }
    (out / "cases.json").write_text(json.dumps(doc, indent=1) + "\n")
    print(len(cases), "cases;", "skipped:", skipped)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
