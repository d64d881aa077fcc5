#!/usr/bin/env bash
# Set up resgraph in ./.venv. Installs, and says so:
#   - the Debian package `graphviz` (the `dot` program, for SVG/PNG/PDF diagrams), if missing;
#   - torch 2.13.0 (pinned first, so the loose `torch` requirement never pulls a CUDA build);
#   - resgraph itself, editable, with its development and training extras.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

if ! command -v dot >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "setup: installing the Debian package graphviz (for the dot program)"
        apt-get update -qq >/dev/null && apt-get install -y -qq graphviz >/dev/null
    else
        echo "setup: warning: 'dot' is missing; install graphviz for SVG/PNG/PDF output" >&2
    fi
fi
if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv"
    "$PY" -m venv .venv
fi
echo "setup: installing torch==2.13.0 (CPU build where available)"
.venv/bin/pip install -q --disable-pip-version-check torch==2.13.0
echo "setup: installing resgraph with extras dev, train, plot"
.venv/bin/pip install -q --disable-pip-version-check -e ".[dev,train,plot]"
echo "setup: done ($(.venv/bin/python -c 'import torch, resgraph; print("torch", torch.__version__, "| resgraph", resgraph.__version__)'))"
