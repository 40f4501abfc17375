#!/usr/bin/env bash
# Create or refresh the project-local virtual environment (.venv).
#
# The environment is rebuilt only when it is missing or when the requirement
# files (or setup.py) changed since it was built: their hash is stored in
# .venv/.requirements-hash. A cold build takes about 25 minutes on 2 CPU cores,
# most of it compiling mmcv's ops; pip caches the built mmcv wheel, so later
# rebuilds take minutes.
#
# Environment variables:
#   MASKCLIPPP_VENV   where to put the environment (default: <repo>/.venv)
#   PYTHON            interpreter to build it from (default: python3.11, else python3)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MASKCLIPPP_VENV:-$ROOT/.venv}"
if [ -z "${PYTHON:-}" ]; then
    if command -v python3.11 >/dev/null 2>&1; then PYTHON=python3.11; else PYTHON=python3; fi
fi

hash_inputs() {
    cat "$ROOT"/requirements/*.txt "$ROOT/setup.py" | sha256sum | cut -c1-16
}
WANT="$(hash_inputs)"
STAMP="$VENV/.requirements-hash"

if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ]; then
    exit 0
fi

echo "[setup_env] building $VENV (requirements hash $WANT) with $($PYTHON --version)"
start=$(date +%s)
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip install --progress-bar off -c "$ROOT/requirements/constraints.txt")

"${PIP[@]}" -q --upgrade "pip<25" "setuptools<70" wheel
# torch first: mmcv's build imports it.
"${PIP[@]}" -r "$ROOT/requirements/torch.txt"
# mmcv with compiled CPU ops (CUDA ops too when a CUDA toolkit and GPU are present).
"${PIP[@]}" ninja psutil "numpy<2"
MMCV_WITH_OPS=1 MAX_JOBS="$(nproc)" "${PIP[@]}" --no-build-isolation -r "$ROOT/requirements/mmcv.txt"
"${PIP[@]}" -r "$ROOT/requirements/runtime.txt" -r "$ROOT/requirements/tests.txt"
# The web demo's extra on top, in its own step: resolved together with the
# rest, gradio's typer (rich >= 13.8) sends pip backtracking through every
# openxlab release (openxlab pins rich 13.4; it only serves `mim download`)
# for many minutes. Here pip upgrades rich and reports the pin.
"${PIP[@]}" -r "$ROOT/requirements/web.txt"
"${PIP[@]}" --no-deps --no-build-isolation -e "$ROOT"

"$VENV/bin/python" "$ROOT/tools/check_env.py"
echo "$WANT" > "$STAMP"
echo "[setup_env] done in $(( $(date +%s) - start )) s"
