#!/usr/bin/env python3
"""Build notes.jsonl from marked-up batch files in src/*.txt.
Markup: [[TYPE|value]] marks a PHI span. Note header: '### nNNN | note type',
then '@terms: t1 ;; t2 ;; ...', then the note body until next '### ' header."""
import json, re, glob, os, sys
HERE = os.path.dirname(os.path.abspath(__file__))
CATS = {"NAME","DATE","AGE","PHONE","FAX","EMAIL","SSN","MRN","HEALTH_PLAN","ACCOUNT",
        "LICENSE","VEHICLE","DEVICE","URL","IP","BIOMETRIC","PHOTO","OTHER_ID","ADDRESS",
        "CITY","COUNTY","ZIP","FACILITY"}
MARK = re.compile(r"\[\[([A-Z_]+)\|(.*?)\]\]", re.S)

def convert(raw):
    out, spans, pos = [], [], 0
    cur = 0
    for m in MARK.finditer(raw):
        out.append(raw[pos:m.start()]); cur += m.start() - pos
        typ, val = m.group(1), m.group(2)
        if typ not in CATS:
            raise ValueError(f"bad category {typ} in {m.group(0)!r}")
        spans.append({"start": cur, "end": cur + len(val), "type": typ, "text": val})
        out.append(val); cur += len(val); pos = m.end()
    out.append(raw[pos:])
    text = "".join(out)
    if "[[" in text or "]]" in text:
        raise ValueError("unbalanced markup near: " + text[max(0,text.find("[[")-40):text.find("[[")+60])
    return text, spans

def parse(path):
    notes = []
    chunks = re.split(r"^### ", open(path, encoding="utf-8").read(), flags=re.M)
    for ch in chunks[1:]:
        header, _, rest = ch.partition("\n")
        nid, ntype = [x.strip() for x in header.split("|", 1)]
        lines = rest.split("\n")
        assert lines[0].startswith("@terms:"), (nid, lines[0])
        terms = [t.strip() for t in lines[0][len("@terms:"):].split(";;") if t.strip()]
        body = "\n".join(lines[1:]).strip("\n")
        text, spans = convert(body)
        fixed = []
        for t in terms:
            if t not in text:
                i = text.lower().find(t.lower())
                if i == -1:
                    print(f"WARN {nid}: dropping term not in text: {t!r}"); continue
                t = text[i:i+len(t)]
            fixed.append(t)
        terms = fixed
        notes.append({"id": nid, "note_type": ntype, "text": text, "spans": spans,
                      "clinical_terms": terms})
    return notes

def main():
    allnotes = []
    for p in sorted(glob.glob(os.path.join(HERE, "src", "*.txt"))):
        try:
            allnotes.extend(parse(p))
        except Exception as e:
            print("ERROR in", p, e); sys.exit(1)
    # ids are assigned sequentially in file order (source headers are only provisional)
    for i, n in enumerate(allnotes, 1):
        n["id"] = f"n{i:03d}"
    with open(os.path.join(HERE, "notes.jsonl"), "w", encoding="utf-8") as f:
        for n in allnotes:
            f.write(json.dumps(n, ensure_ascii=False) + "\n")
    print(len(allnotes), "notes,", sum(len(n["spans"]) for n in allnotes), "spans")

if __name__ == "__main__":
    main()
