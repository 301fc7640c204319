#!/bin/sh
# Regenerate all outputs and self-check them.  Usage: sh run_all.sh [IN_DIR]
set -e
cd "$(dirname "$0")"
IN=${1:-$(cd ../../../data/samples/synthea_fhir && pwd)}
[ -f synpuf_input/DE1_0_2008_to_2010_Carrier_Claims_Sample_1.csv ] || python3 synpuf.py gen synpuf_input --seed 7
for s in 101 202 303; do
  python3 inject.py "$IN" out_$s --seed $s
  python3 selfcheck.py "$IN" out_$s > check_$s.log
  python3 inject.py synpuf_input out_synpuf_$s --seed $s --format synpuf
  python3 selfcheck.py synpuf_input out_synpuf_$s > check_synpuf_$s.log
done
echo all self-checks passed
