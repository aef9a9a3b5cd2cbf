#!/usr/bin/env bash
# The GPU machine's check, in one run from the checkout root:
#   bash .device-bundle/run.sh bash scripts/device-check.sh          (offline GPU machine, bundle)
#   bash scripts/device-check.sh --small                              (here: small network, source)
# Writes everything to $OUT (default ./device-out): one log per step, the benchmarks' JSON, and
# summary.md (project WebGPU and CPU backend against plain PyTorch fp32/TF32, seconds per update).
# Steps, most important first; each is timed, has its own timeout, and a failure is logged and the
# next step runs; the whole check stops starting steps after BUDGET_S (7 minutes on an H200):
#   smoke; bench step on WebGPU (KFRA, KFAC, Adam: phases, counts); plain PyTorch (fp32, TF32);
#   bench step --profile (GPU time per kernel); bench crosscheck (WebGPU vs CPU, 12 KFRA updates);
#   bench step on the CPU backend; bench kernels; bench gemm-check (every tile of the tiled gemm,
#   both inner loops and split-K against float64, and Cholesky and solves at n = 785 and 1001:
#   what the test suite leaves to the GPU); a
#   short KFRA train on CURVES (if the bundle has it).
# --small: network 784-64-16-64-784 at batch 100 and fewer updates (about three minutes on lavapipe).
# Env: OUT (results folder), PYTHON (the interpreter with torch; default python3), BUDGET_S (420).
# Damping is `fixed` throughout, as bench/reference/pytorch_step.py does, so both do the same work.
set -uo pipefail

small=0
for arg in "$@"; do
  case "$arg" in
    --small) small=1 ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "device-check: unknown flag '$arg'; valid: --small, --help" >&2; exit 2 ;;
  esac
done

OUT="${OUT:-./device-out}"
mkdir -p "$OUT" || { echo "device-check: cannot create OUT=$OUT" >&2; exit 1; }
OUT=$(cd "$OUT" && pwd)
: >"$OUT/steps.tsv"
BUDGET_S=${BUDGET_S:-420}
START=$(date +%s)

# The program: the bundle's (run.sh exported KFRA_BUNDLE and KFRA_BUN), else this checkout's sources.
if [ -n "${KFRA_BUNDLE:-}" ]; then
  BUN="$KFRA_BUN"
  BENCH=("$BUN" "$KFRA_BUNDLE/app/bin/bench.js")
  SMOKE=("$BUN" "$KFRA_BUNDLE/app/bin/smoke.js")
  TRAIN=("$BUN" "$KFRA_BUNDLE/app/bin/train.js")
  KERNELS_JSON="$KFRA_BUNDLE/app/bin/results/kernels.json"
else
  BUN=$(command -v bun || echo node_modules/.bin/bun)
  BENCH=("$BUN" bench/cli.ts)
  SMOKE=("$BUN" src/cli/smoke.ts)
  TRAIN=("$BUN" src/cli/train.ts)
  KERNELS_JSON=bench/results/kernels.json
fi
DATA_DIR="${KFRA_DATA_DIR:-data}"

if [ "$small" = 1 ]; then
  ARCH=(--arch 784-64-16-64-784) BATCH=100 STEPS=3 COUNT=3 PROFILE=2 CROSS=6 TRAIN_STEPS=10 REPS=1
  TORCH_NET=(--sizes 784-64-16-64-784 --batch 100 --steps 5 --warmup 2)
  T_STEP=150 T_CPU=90 T_KERNELS=150 T_TORCH=120 T_CROSS=120 T_TRAIN=120 T_GEMM=300
else
  ARCH=() BATCH=1000 STEPS=5 COUNT=5 PROFILE=3 CROSS=12 TRAIN_STEPS=30 REPS=5
  TORCH_NET=(--steps 10 --warmup 3)
  T_STEP=120 T_CPU=100 T_KERNELS=75 T_TORCH=90 T_CROSS=90 T_TRAIN=75 T_GEMM=90
fi

log() { echo "device-check: $*" | tee -a "$OUT/device-check.log"; }

# run_step NAME TIMEOUT_S COMMAND...: runs it with its output in $OUT/NAME.log (and on stdout), a
# timeout clipped to the time left, and one line in steps.tsv: name, status, exit code, seconds.
run_step() {
  local name=$1 limit=$2
  shift 2
  local now left
  now=$(date +%s)
  left=$((BUDGET_S - (now - START)))
  if [ "$left" -lt 15 ]; then
    log "$name: skipped, the ${BUDGET_S} s budget is spent"
    printf '%s\tskipped (budget)\t-\t0\n' "$name" >>"$OUT/steps.tsv"
    return 0
  fi
  [ "$limit" -le "$left" ] || limit=$left
  log "$name (timeout ${limit} s): $*"
  local t0 t1 rc status
  t0=$(date +%s.%N)
  timeout --kill-after=10 "$limit" "$@" 2>&1 | tee "$OUT/$name.log"
  rc=${PIPESTATUS[0]}
  t1=$(date +%s.%N)
  case "$rc" in
    0) status=ok ;;
    124 | 137) status="timed out" ;;
    *) status=failed ;;
  esac
  local seconds
  seconds=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
  log "$name: $status (exit $rc) in $seconds s"
  printf '%s\t%s\t%s\t%s\n' "$name" "$status" "$rc" "$seconds" >>"$OUT/steps.tsv"
}

{
  echo "date: $(date -u +%FT%TZ)"
  echo "revision: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "host: $(uname -srm), $(nproc) cores"
  echo "bun: $("$BUN" --version 2>&1)"
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-unset} OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset} KFRA_POLLING=${KFRA_POLLING:-auto}"
} >"$OUT/environment.txt" 2>&1
cat "$OUT/environment.txt"

run_step smoke 60 "${SMOKE[@]}"

run_step step-webgpu "$T_STEP" "${BENCH[@]}" step --device webgpu --opt kfra,kfac,adam --preset fixed "${ARCH[@]}" \
  --batch "$BATCH" --steps "$STEPS" --count-steps "$COUNT" --out "$OUT/step-webgpu.json"

PYTHON="${PYTHON:-python3}"
if "$PYTHON" -c 'import torch' >/dev/null 2>&1; then
  run_step pytorch "$T_TORCH" "$PYTHON" bench/reference/pytorch_step.py --opt adam,kfac,kfra "${TORCH_NET[@]}" --json "$OUT/pytorch.json"
else
  log "pytorch: skipped, $PYTHON cannot import torch here (set PYTHON to one that can)"
  echo "PyTorch is not importable on this machine ($PYTHON -c 'import torch' fails); no PyTorch reference." >"$OUT/pytorch.log"
  printf 'pytorch\tskipped (no torch)\t-\t0\n' >>"$OUT/steps.tsv"
fi

run_step step-webgpu-profile "$T_STEP" "${BENCH[@]}" step --device webgpu --opt kfra,kfac,adam --preset fixed "${ARCH[@]}" \
  --batch "$BATCH" --steps 1 --count-steps 1 --profile --profile-steps "$PROFILE" --out "$OUT/step-webgpu-profile.json"

run_step crosscheck "$T_CROSS" "${BENCH[@]}" crosscheck --opt kfra --steps "$CROSS" "${ARCH[@]}" --batch "$BATCH" --out "$OUT/crosscheck.json"

run_step step-cpu "$T_CPU" "${BENCH[@]}" step --device cpu --opt kfra,kfac,adam --preset fixed "${ARCH[@]}" \
  --batch "$BATCH" --steps "$STEPS" --count-steps "$COUNT" --out "$OUT/step-cpu.json"

run_step kernels "$T_KERNELS" "${BENCH[@]}" kernels --device webgpu --reps "$REPS"
[ -f "$KERNELS_JSON" ] && cp "$KERNELS_JSON" "$OUT/kernels.json"

run_step gemm-check "$T_GEMM" "${BENCH[@]}" gemm-check --variants all --out "$OUT/gemm-check.json"

if [ -f "$DATA_DIR/curves-train.arrow" ] && [ -f "$DATA_DIR/curves-test.arrow" ]; then
  rm -rf "$OUT/train-kfra-curves"
  run_step train "$T_TRAIN" "${TRAIN[@]}" --opt kfra --dataset curves --data-dir "$DATA_DIR" --device webgpu "${ARCH[@]}" \
    --batch "$BATCH" --steps "$TRAIN_STEPS" --eval-every 0 --save-every 0 --quiet --out "$OUT/train-kfra-curves"
else
  log "train: skipped, no prepared CURVES in $DATA_DIR (build the bundle with --data curves)"
  printf 'train\tskipped (no data)\t-\t0\n' >>"$OUT/steps.tsv"
fi

log "total $(($(date +%s) - START)) s"
"$BUN" scripts/device-summary.ts "$OUT" || log "summary failed"
