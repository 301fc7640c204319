#!/usr/bin/env python3
"""Build notes.jsonl from the marked-up sources in src/*.txt (python3 stdlib only).

Source format
-------------
* A line starting with "### " opens a new note; the rest of that line is the note_type.
* Inside a note, PHI is written inline as [[TYPE|value]] and clinical terms that a
  de-identifier must keep are written as {{term}}.  Both markups are removed from the
  output text; spans get exact offsets, clinical terms are collected (deduplicated, in
  order of first appearance).
* Lines starting with "#!" are source comments and are dropped.
* Leading/trailing blank lines of a note are removed.

Note ids are assigned sequentially (f2_001 ...) in file order (src files sorted by name).
"""
import glob
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOKEN = re.compile(r"\[\[([A-Z_]+)\|(.+?)\]\]|\{\{(.+?)\}\}")


def parse_note(raw):
    out = []
    pos = 0
    spans = []
    terms = []
    length = 0
    for m in TOKEN.finditer(raw):
        plain = raw[pos:m.start()]
        out.append(plain)
        length += len(plain)
        if m.group(1):
            value = m.group(2)
            spans.append({"start": length, "end": length + len(value),
                          "type": m.group(1), "text": value})
        else:
            value = m.group(3)
            if value not in terms:
                terms.append(value)
        out.append(value)
        length += len(value)
        pos = m.end()
    out.append(raw[pos:])
    text = "".join(out)
    for bad in ("[[", "]]", "{{", "}}"):
        if bad in text:
            raise ValueError("unbalanced markup %r in note starting %r" % (bad, text[:60]))
    return text, spans, terms


def read_sources():
    notes = []
    for path in sorted(glob.glob(os.path.join(HERE, "src", "*.txt"))):
        cur_type, buf = None, []
        with open(path, encoding="utf-8") as fh:
            lines = fh.read().split("\n")
        for line in lines + ["### __END__"]:
            if line.startswith("### "):
                if cur_type is not None:
                    raw = "\n".join(buf).strip("\n")
                    notes.append((os.path.basename(path), cur_type, raw))
                cur_type, buf = line[4:].strip(), []
            elif line.startswith("#!"):
                continue
            else:
                buf.append(line)
    return notes


def main():
    out_path = os.path.join(HERE, "notes.jsonl")
    rows = []
    for i, (src, ntype, raw) in enumerate(read_sources(), 1):
        try:
            text, spans, terms = parse_note(raw)
        except ValueError as exc:
            sys.exit("%s: %s" % (src, exc))
        rows.append({"id": "f2_%03d" % i, "note_type": ntype, "text": text,
                     "spans": spans, "clinical_terms": terms})
    with open(out_path, "w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    print("wrote %d notes to %s" % (len(rows), out_path))


if __name__ == "__main__":
    main()
