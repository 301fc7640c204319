#!/usr/bin/env python3
"""Validate sentences.jsonl / notes.jsonl: schema, offsets, overlaps, note length, counts."""
import json, sys, collections, os
HERE = os.path.dirname(os.path.abspath(__file__))
DOMAINS = {'condition','symptom','procedure','drug','lab'}
EXPS = {'patient','mother','father','sibling','relative','other'}
FAMILY_EXPS = {'mother','father','sibling','relative'}
NOTE_TYPES = {'discharge summary','ED note','progress note','nursing note','radiology report',
              'telephone note','consult','H&P','clinic letter'}
BOOLS = ['negated','historical','family','hypothetical','uncertain']
errors = []
def err(rid, msg): errors.append('%s: %s' % (rid, msg))

def check(fn, is_note):
    recs = []
    for ln, line in enumerate(open(os.path.join(HERE, fn)), 1):
        try: r = json.loads(line)
        except Exception as e: err('%s:%d' % (fn, ln), 'bad json %s' % e); continue
        recs.append(r)
        rid = r.get('id')
        if set(r) != {'id','type','text','mentions'}: err(rid, 'bad keys %s' % sorted(r))
        if not isinstance(rid, str) or not isinstance(r.get('text'), str) or not isinstance(r.get('mentions'), list):
            err(rid, 'bad field types'); continue
        if is_note:
            if r['type'] not in NOTE_TYPES: err(rid, 'unknown note type %r' % r['type'])
            nl = len(r['text'].split('\n'))
            if not 5 <= nl <= 25: err(rid, 'note has %d lines' % nl)
        elif r['type'] != 'sentence': err(rid, 'type must be sentence')
        text = r['text']; prev_end = -1
        for m in sorted(r['mentions'], key=lambda m: m.get('start', 0)):
            keys = {'start','end','text','domain','preferred','negated','historical','family','experiencer','hypothetical','uncertain','section'}
            if set(m) != keys: err(rid, 'mention keys %s' % sorted(m)); continue
            if not (isinstance(m['start'], int) and isinstance(m['end'], int)) or isinstance(m['start'], bool):
                err(rid, 'offsets not int'); continue
            if not 0 <= m['start'] < m['end'] <= len(text): err(rid, 'offset out of range %r' % m); continue
            if text[m['start']:m['end']] != m['text']: err(rid, 'offset mismatch %r vs %r' % (text[m['start']:m['end']], m['text']))
            if m['text'] != m['text'].strip(): err(rid, 'mention has outer whitespace %r' % m['text'])
            if m['start'] < prev_end: err(rid, 'overlapping mention %r' % m['text'])
            prev_end = m['end']
            if m['domain'] not in DOMAINS: err(rid, 'bad domain %r' % m['domain'])
            if not isinstance(m['preferred'], str) or not m['preferred'].strip(): err(rid, 'bad preferred')
            for b in BOOLS:
                if not isinstance(m[b], bool): err(rid, '%s not bool' % b)
            if m['experiencer'] not in EXPS: err(rid, 'bad experiencer %r' % m['experiencer'])
            if m['family'] != (m['experiencer'] in FAMILY_EXPS): err(rid, 'family/experiencer inconsistent for %r' % m['text'])
            if m['section'] is not None and not isinstance(m['section'], str): err(rid, 'bad section')
            if not is_note and m['section'] is not None: err(rid, 'sentence mention with section')
    return recs

sents = check('sentences.jsonl', False)
notes = check('notes.jsonl', True)
ids = [r['id'] for r in sents + notes]
for i, c in collections.Counter(ids).items():
    if c > 1: err(i, 'duplicate id')

def stats(recs):
    c = collections.Counter()
    for r in recs:
        for m in r['mentions']:
            c['mentions'] += 1; c['domain:' + m['domain']] += 1
            for b in BOOLS:
                if m[b]: c[b] += 1
            if m['experiencer'] != 'patient': c['non_patient_experiencer'] += 1
            c['experiencer:' + m['experiencer']] += 1
    return c
allc = stats(sents + notes)
types = collections.Counter(r['type'] for r in sents + notes)
print('records by type:', dict(types))
print('sentence mentions:', stats(sents)['mentions'], ' note mentions:', stats(notes)['mentions'])
for k in sorted(allc): print('  %-28s %d' % (k, allc[k]))
targets = [('sentences', len(sents), 320), ('notes', len(notes), 45), ('mentions', allc['mentions'], 1500),
           ('negated', allc['negated'], 250), ('historical', allc['historical'], 120),
           ('family/other experiencer', allc['non_patient_experiencer'], 100),
           ('hypothetical', allc['hypothetical'], 80), ('uncertain', allc['uncertain'], 80)]
for name, have, need in targets:
    if have < need: err('COUNTS', '%s %d < %d' % (name, have, need))
if errors:
    print('\n%d ERRORS' % len(errors)); print('\n'.join(errors[:200])); sys.exit(1)
print('\nOK: all checks passed')
