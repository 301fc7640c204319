#!/usr/bin/env python3
"""Build notes.jsonl from marked-up sources src/b*.txt (stdlib only).

Source format:
  ### <note_type>         opens a note
  #! comment              dropped
  [[TYPE|value]]          PHI span
  {{term}}                clinical term to keep (text kept, term recorded)
"""
import glob, json, os, random, re

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 20261204
TOKEN = re.compile(r"\[\[([A-Z_]+)\|(.*?)\]\]|\{\{(.*?)\}\}", re.S)


def parse_note(body):
    text, spans, terms = [], [], []
    pos, out_len = 0, 0
    for m in TOKEN.finditer(body):
        chunk = body[pos:m.start()]
        text.append(chunk); out_len += len(chunk)
        if m.group(1):
            val = m.group(2)
            spans.append({"start": out_len, "end": out_len + len(val), "type": m.group(1), "text": val})
        else:
            val = m.group(3)
            if val not in terms:
                terms.append(val)
        text.append(val); out_len += len(val)
        pos = m.end()
    text.append(body[pos:])
    t = "".join(text)
    assert "[[" not in t and "]]" not in t and "{{" not in t and "}}" not in t, t[:200]
    # strip trailing/leading newlines only (offsets shift for leading ones)
    lead = len(t) - len(t.lstrip("\n"))
    t2 = t.strip("\n")
    for s in spans:
        s["start"] -= lead; s["end"] -= lead
    return t2, spans, terms


def main():
    notes = []
    for fn in sorted(glob.glob(os.path.join(HERE, "src", "b*.txt"))):
        cur_type, cur_lines = None, []
        def flush():
            if cur_type is not None:
                notes.append((cur_type, "\n".join(cur_lines)))
        with open(fn, encoding="utf-8") as f:
            for line in f.read().split("\n"):
                if line.startswith("### "):
                    flush(); cur_type, cur_lines = line[4:].strip(), []
                elif line.startswith("#!"):
                    continue
                elif cur_type is not None:
                    cur_lines.append(line)
        flush()
    recs = []
    for i, (nt, body) in enumerate(notes, 1):
        text, spans, terms = parse_note(body)
        recs.append({"id": "f4_%03d" % i, "note_type": nt, "text": text, "spans": spans,
                     "clinical_terms": terms})
    # seeded split stratified by note type
    rng = random.Random(SEED)
    groups = {}
    for r in recs:
        groups.setdefault(r["note_type"], []).append(r)
    toggle = 0
    keys = sorted(groups)
    rng.shuffle(keys)
    for nt in keys:
        g = groups[nt][:]
        rng.shuffle(g)
        for r in g:
            r["split"] = "dev" if toggle % 2 == 0 else "locked"
            toggle += 1
    with open(os.path.join(HERE, "notes.jsonl"), "w", encoding="utf-8") as f:
        for r in recs:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print("built %d notes" % len(recs))


if __name__ == "__main__":
    main()
