#!/usr/bin/env bash
# Tests/Autobahn/run.sh URL [OUTDIR] [CASES]
#
# Runs Autobahn|Testsuite (the WebSocket conformance suite, wstest in fuzzingclient mode) against an
# echo endpoint on this machine and ends with the line "N passed, N failed"; exit 0 iff none failed.
#   URL     ws://127.0.0.1:PORT/echo — loopback only (127.0.0.0/8 or [::1]).
#   OUTDIR  where the report goes (default /tmp/hometown-autobahn).
#   CASES   comma-separated case patterns (default 1.* to 10.*: everything but permessage-deflate).
#
# Installing: the suite is Python 2 only. It needs a CPython 2.7, which Debian 12 no longer
# packages: the script uses $AUTOBAHN_PYTHON27, else pyenv's 2.7.18 (/root/.pyenv, present on this
# project's machines), else `python2.7` on PATH, and stops with a clear message when none exists.
# Into /tmp/hometown-autobahn-venv it installs virtualenv (pinned) and the suite with its whole
# dependency closure pinned in requirements-py27.txt beside this script, from PyPI. Later runs only
# check a stamp (the requirements' hash). Knob: AUTOBAHN_TIMEOUT (seconds, default 900).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${AUTOBAHN_VENV:-/tmp/hometown-autobahn-venv}"
requirements="$here/requirements-py27.txt"
die() { echo "autobahn: $*" >&2; exit 2; }

[ $# -ge 1 ] && [ $# -le 3 ] || die "usage: run.sh ws://127.0.0.1:PORT/echo [OUTDIR] [CASES]"
url="$1"
outdir="${2:-/tmp/hometown-autobahn}"
cases="${3:-1.*,2.*,3.*,4.*,5.*,6.*,7.*,9.*,10.*}"
[[ "$url" =~ ^wss?://(127\.[0-9]+\.[0-9]+\.[0-9]+|\[::1\]):[0-9]+/ ]] || die "refusing '$url': loopback addresses only"
[[ "$cases" =~ ^[0-9.*,]+$ ]] || die "cases: digits, '.', '*' and ',' only"

find_python27() {
    for candidate in "${AUTOBAHN_PYTHON27:-}" /root/.pyenv/versions/2.7.18/bin/python2.7 "$(command -v python2.7 || true)"; do
        if [ -n "$candidate" ] && [ -x "$candidate" ] &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (2, 7))' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

install_suite() {
    local python27 boot
    python27="$(find_python27)" || die "no CPython 2.7 found. Autobahn|Testsuite runs only on Python 2.7, which Debian 12 does not package: install one (for example 'pyenv install 2.7.18') and set AUTOBAHN_PYTHON27, or skip this step with SKIP_AUTOBAHN=1"
    echo "autobahn: installing the suite into $venv with $python27" >&2
    boot="$(mktemp -d)"
    # Python 2.7 has no venv module; virtualenv 20.15 is the last that creates 2.7 environments.
    "$python27" -m pip install -q --disable-pip-version-check --target "$boot/site" 'virtualenv==20.15.1' >&2 \
        || die "could not install virtualenv for Python 2.7"
    rm -rf "$venv"
    PYTHONPATH="$boot/site" "$python27" -m virtualenv -q --no-download --app-data "$boot/app-data" -p "$python27" "$venv" >&2
    PYTHONWARNINGS=ignore "$venv/bin/pip" install -q --disable-pip-version-check -r "$requirements" >&2 \
        || die "pip install -r $requirements failed"
    sha256sum "$requirements" | cut -d' ' -f1 >"$venv/.installed"
    rm -rf "$boot"
}

want="$(sha256sum "$requirements" | cut -d' ' -f1)"
if [ ! -x "$venv/bin/wstest" ] || [ "$(cat "$venv/.installed" 2>/dev/null)" != "$want" ]; then
    exec 9>/tmp/hometown-autobahn-install.lock
    flock 9
    if [ ! -x "$venv/bin/wstest" ] || [ "$(cat "$venv/.installed" 2>/dev/null)" != "$want" ]; then install_suite; fi
    flock -u 9
fi

mkdir -p "$outdir"
outdir="$(cd "$outdir" && pwd)"
rm -f "$outdir/index.json"
python3 - "$outdir" "$url" "$cases" <<'PY'
import json, sys
outdir, url, cases = sys.argv[1:]
spec = {"outdir": outdir, "options": {"failByDrop": False},
        "servers": [{"agent": "hometown", "url": url}],
        "cases": cases.split(","), "exclude-cases": [], "exclude-agent-cases": {}}
json.dump(spec, open(outdir + "/spec.json", "w"), indent=2)
PY
echo "Autobahn|Testsuite -> $url (cases $cases, report in $outdir)"
start=$(date +%s)
status=0
(cd "$outdir" && PYTHONWARNINGS=ignore timeout -k 10 "${AUTOBAHN_TIMEOUT:-900}" \
    "$venv/bin/wstest" -m fuzzingclient -s "$outdir/spec.json" >"$outdir/wstest.log" 2>&1) || status=$?
echo "wstest finished in $(( $(date +%s) - start )) s (exit status $status)"
[ "$status" = 0 ] || tail -20 "$outdir/wstest.log"
python3 "$here/summarize.py" "$outdir"
