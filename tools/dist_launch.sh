#!/usr/bin/env bash
# Start SCRIPT (train.py or test.py beside this file) on GPUS processes per
# machine with torch's launcher:  bash tools/dist_launch.sh SCRIPT GPUS [ARGS...]
# Several machines: set NNODES, NODE_RANK, MASTER_ADDR (and PORT).
SCRIPT=$1
GPUS=$2
PYTHONPATH="$(dirname "$0")/..":$PYTHONPATH \
python -m torch.distributed.run \
    --nnodes="${NNODES:-1}" \
    --node_rank="${NODE_RANK:-0}" \
    --master_addr="${MASTER_ADDR:-127.0.0.1}" \
    --master_port="${PORT:-29500}" \
    --nproc_per_node="$GPUS" \
    "$(dirname "$0")/$SCRIPT" \
    "${@:3}" \
    --launcher pytorch
