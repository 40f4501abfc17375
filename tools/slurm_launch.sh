#!/usr/bin/env bash
# Start SCRIPT (train.py or test.py beside this file) as a slurm job step,
# one task per GPU:  bash tools/slurm_launch.sh SCRIPT PARTITION JOB_NAME [ARGS...]
# GPUS (total, default 2: the paper's batch of 4 at 2 images per GPU),
# GPUS_PER_NODE (default min(GPUS, 8)), CPUS_PER_TASK (5) and SRUN_ARGS
# (extra srun options) come from the environment.
set -x
SCRIPT=$1
PARTITION=$2
JOB_NAME=$3
GPUS=${GPUS:-2}
GPUS_PER_NODE=${GPUS_PER_NODE:-$((GPUS < 8 ? GPUS : 8))}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
PYTHONPATH="$(dirname "$0")/..":$PYTHONPATH \
srun -p "$PARTITION" \
    --job-name="$JOB_NAME" \
    --gres=gpu:"$GPUS_PER_NODE" \
    --ntasks="$GPUS" \
    --ntasks-per-node="$GPUS_PER_NODE" \
    --cpus-per-task="$CPUS_PER_TASK" \
    --kill-on-bad-exit=1 \
    ${SRUN_ARGS} \
    python -u "$(dirname "$0")/$SCRIPT" "${@:4}" --launcher slurm
