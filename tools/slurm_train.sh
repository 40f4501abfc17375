#!/usr/bin/env bash
# Fine-tune on a slurm cluster (default GPUS=2, the paper's total batch 4):
#   [GPUS=2] bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG [ARGS...]
exec bash "$(dirname "$0")/slurm_launch.sh" train.py "$1" "$2" "$3" "${@:4}"
