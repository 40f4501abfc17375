#!/usr/bin/env bash
# Fine-tune on several GPUs:  bash tools/dist_train.sh CONFIG GPUS [ARGS...]
exec bash "$(dirname "$0")/dist_launch.sh" train.py "$2" "$1" "${@:3}"
