#!/usr/bin/env bash
# Run the router with its embedded defaults (SQLite file centralino.db, in-memory live
# state, no Redis) on http://127.0.0.1:8080, using ./config.yaml.
#
# The package is installed into .venv only when needed: no .venv yet, or pyproject.toml
# changed since the last install (the install is editable, so code changes need none).
# pip's output goes to .venv/install.log and is shown only if the install fails.
set -euo pipefail
cd "$(dirname "$0")/.."

stamp=.venv/.centralino-installed
wanted="$(python3 -c 'import hashlib,sys; print(hashlib.sha256(open("pyproject.toml","rb").read()).hexdigest())')"
if [ ! -x .venv/bin/centralino ] || [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    echo "installing centralino into .venv (once; a minute or two the first time)..." >&2
    [ -x .venv/bin/python ] || python3 -m venv .venv
    if ! .venv/bin/python -m pip install --disable-pip-version-check -q -e . \
            >.venv/install.log 2>&1; then
        tail -n 30 .venv/install.log >&2
        echo "install failed; the whole log is in .venv/install.log" >&2
        exit 1
    fi
    echo "$wanted" >"$stamp"
fi
exec .venv/bin/centralino serve --config config.yaml "$@"
