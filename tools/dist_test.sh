#!/usr/bin/env bash
# Evaluate on several GPUs:  bash tools/dist_test.sh CONFIG CHECKPOINT GPUS [ARGS...]
exec bash "$(dirname "$0")/dist_launch.sh" test.py "$3" "$1" "$2" "${@:4}"
