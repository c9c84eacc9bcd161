#!/usr/bin/env bash
# Seeds fuzz/corpus/{parse,form} from a directory of sample cXML documents (never committed:
# fuzz/corpus is git-ignored). Form seeds are the samples as both form encodings.
#
#   fuzz/seed-corpus.sh /work/shared/cxml/samples
set -euo pipefail
samples="${1:?usage: $0 SAMPLES_DIR}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mkdir -p "$here/corpus/parse" "$here/corpus/form"
python3 - "$samples" "$here/corpus" <<'PY'
import base64, hashlib, os, sys, urllib.parse
samples, out = sys.argv[1], sys.argv[2]
n = 0
for dirpath, _, files in os.walk(samples):
    for f in sorted(files):
        if not f.endswith(".xml"):
            continue
        data = open(os.path.join(dirpath, f), "rb").read()
        def put(kind, blob):
            name = hashlib.sha1(blob).hexdigest()
            with open(os.path.join(out, kind, name), "wb") as fh:
                fh.write(blob)
        put("parse", data)
        put("form", b"cxml-urlencoded=" + urllib.parse.quote_plus(data).encode())
        put("form", b"cxml-base64=" + urllib.parse.quote_plus(base64.b64encode(data)).encode())
        n += 1
print(f"seeded {n} samples into {out}/parse and {out}/form", file=sys.stderr)
PY
