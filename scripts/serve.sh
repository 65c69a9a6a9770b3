#!/usr/bin/env bash
# Run the router with its embedded defaults (SQLite file centralino.db, in-memory live
# state, no Redis) on http://127.0.0.1:8080, using ./config.yaml.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e .
exec .venv/bin/centralino serve --config config.yaml "$@"
