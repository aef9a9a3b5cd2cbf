#!/usr/bin/env bash
# Kernel choices on a GPU machine, measured side by side in one run (from the checkout root, after
# the bundle's run.sh has unpacked: bash .device-bundle/run.sh bash scripts/device-tune.sh):
#   bench step (KFRA, KFAC, Adam; fixed damping; the paper's autoencoder at batch 1000) with the
#   defaults, then with each KFRA_WEBGPU_* choice changed alone (src/backend/webgpu/index.ts);
#   bench step --profile; bench kernels --variants (every gemm shape, every gemm kernel, tile, inner
#   loop and split-K).
# Then the choices that each beat the defaults by over 2% are measured together (scripts/device-pick.ts
# --combine), and the fastest run's choices for KFRA are written to $OUT/best.env (`export` lines).
# Writes logs and JSON to $OUT (default ./device-out), tune.tgz holding them all and tune-table.md
# (every run's seconds per update). Each step is timed out on its own; a failure is logged and the
# next one runs. KERNELS_S: the limit of the `bench kernels --variants` step (default 300 s; 0 skips it).
set -uo pipefail
OUT="${OUT:-./device-out}"
mkdir -p "$OUT/tune" || exit 1
T="$OUT/tune"
BENCH=("${KFRA_BUN:-bun}" "${KFRA_BUNDLE:-.}/app/bin/bench.js")
[ -n "${KFRA_BUNDLE:-}" ] || BENCH=(bun bench/cli.ts)
STEP=(step --device webgpu --damping fixed --batch 1000 --steps 5 --count-steps 5)

run() { # run NAME TIMEOUT ENV... -- COMMAND...
  local name=$1 limit=$2
  shift 2
  local envs=()
  while [ "$1" != "--" ]; do envs+=("$1"); shift; done
  shift
  local t0=$SECONDS
  printf '%s\t%s\n' "$name" "${envs[*]:-}" >>"$T/runs.tsv"
  echo "== $name (${envs[*]:-defaults})"
  env "${envs[@]}" timeout --kill-after=5 "$limit" "$@" >"$T/$name.log" 2>&1
  local rc=$?
  echo "== $name: exit $rc in $((SECONDS - t0)) s"
  grep -E "median|per update|dispatches|GFLOP|^\| all shapes|damped solves|Dawn toggles|error|Error" "$T/$name.log" | head -40
}

run step-default 90 -- "${BENCH[@]}" "${STEP[@]}" --opt kfra,kfac,adam --out "$T/step-default.json"
run step-register-gemm 60 KFRA_WEBGPU_GEMM=register -- "${BENCH[@]}" "${STEP[@]}" --opt kfra,adam --out "$T/step-register-gemm.json"
run step-submit-on-read 60 KFRA_WEBGPU_SUBMIT_EVERY=0 -- "${BENCH[@]}" "${STEP[@]}" --opt kfra,adam --out "$T/step-submit-on-read.json"
run step-first-submit-8 60 KFRA_WEBGPU_FIRST_SUBMIT=8 -- "${BENCH[@]}" "${STEP[@]}" --opt kfra,adam --out "$T/step-first-submit-8.json"
run step-first-submit-16 60 KFRA_WEBGPU_FIRST_SUBMIT=16 -- "${BENCH[@]}" "${STEP[@]}" --opt kfra,adam --out "$T/step-first-submit-16.json"
run step-untiled-batches 60 KFRA_WEBGPU_TILED_BATCHES=0 -- "${BENCH[@]}" "${STEP[@]}" --opt kfra --out "$T/step-untiled-batches.json"
run step-vec4 60 KFRA_WEBGPU_GEMM_INNER=vec4 -- "${BENCH[@]}" "${STEP[@]}" --opt kfra,adam --out "$T/step-vec4.json"
run step-split-k-auto 60 KFRA_WEBGPU_SPLIT_K=auto -- "${BENCH[@]}" "${STEP[@]}" --opt kfra,adam --out "$T/step-split-k-auto.json"
run step-split-k-2 60 KFRA_WEBGPU_SPLIT_K=2 -- "${BENCH[@]}" "${STEP[@]}" --opt kfra,adam --out "$T/step-split-k-2.json"
run step-vec4-split-k-auto 60 KFRA_WEBGPU_GEMM_INNER=vec4 KFRA_WEBGPU_SPLIT_K=auto -- "${BENCH[@]}" "${STEP[@]}" --opt kfra,adam --out "$T/step-vec4-split-k-auto.json"
run step-tiled-2x4x16 60 KFRA_WEBGPU_TILE=2x4x16 -- "${BENCH[@]}" "${STEP[@]}" --opt kfra,adam --out "$T/step-tiled-2x4x16.json"
run step-vec4-2x4x16 60 KFRA_WEBGPU_GEMM_INNER=vec4 KFRA_WEBGPU_TILE=2x4x16 -- "${BENCH[@]}" "${STEP[@]}" --opt kfra,adam --out "$T/step-vec4-2x4x16.json"
run step-vec4-1x4x16-split-k-auto 60 KFRA_WEBGPU_GEMM_INNER=vec4 KFRA_WEBGPU_TILE=1x4x16 KFRA_WEBGPU_SPLIT_K=auto -- "${BENCH[@]}" "${STEP[@]}" --opt kfra,adam --out "$T/step-vec4-1x4x16-split-k-auto.json"
run step-dawn-toggles 60 KFRA_WEBGPU_DAWN_TOGGLES=disable_robustness,skip_validation,disable_workgroup_init -- "${BENCH[@]}" "${STEP[@]}" --opt kfra,adam --out "$T/step-dawn-toggles.json"
run step-all-new 60 KFRA_WEBGPU_GEMM_INNER=vec4 KFRA_WEBGPU_SPLIT_K=auto KFRA_WEBGPU_DAWN_TOGGLES=disable_robustness,skip_validation,disable_workgroup_init -- "${BENCH[@]}" "${STEP[@]}" --opt kfra,kfac,adam --out "$T/step-all-new.json"
run step-all-new-first-submit-16 60 KFRA_WEBGPU_FIRST_SUBMIT=16 KFRA_WEBGPU_GEMM_INNER=vec4 KFRA_WEBGPU_SPLIT_K=auto KFRA_WEBGPU_DAWN_TOGGLES=disable_robustness,skip_validation,disable_workgroup_init -- "${BENCH[@]}" "${STEP[@]}" --opt kfra,kfac,adam --out "$T/step-all-new-first-submit-16.json"
run step-submit-every-16 60 KFRA_WEBGPU_SUBMIT_EVERY=16 -- "${BENCH[@]}" "${STEP[@]}" --opt kfra,adam --out "$T/step-submit-every-16.json"
run crosscheck-default 60 -- "${BENCH[@]}" crosscheck --opt kfra --steps 12 --batch 1000 --out "$T/crosscheck-default.json"
run crosscheck-vec4-split-k 60 KFRA_WEBGPU_GEMM_INNER=vec4 KFRA_WEBGPU_SPLIT_K=auto -- "${BENCH[@]}" crosscheck --opt kfra --steps 12 --batch 1000 --out "$T/crosscheck-vec4-split-k.json"
run step-calm-polling 60 KFRA_POLLING=calm -- "${BENCH[@]}" "${STEP[@]}" --opt kfra,adam --out "$T/step-calm-polling.json"
PICK=("${KFRA_BUN:-bun}" scripts/device-pick.ts "$T")
mapfile -t combined < <("${PICK[@]}" --combine)
[ ${#combined[@]} -gt 0 ] && run step-combined 60 "${combined[@]}" -- "${BENCH[@]}" "${STEP[@]}" --opt kfra,kfac,adam --out "$T/step-combined.json"
"${PICK[@]}" >"$OUT/best.env" && echo "== fastest for KFRA: $(tr '\n' ' ' <"$OUT/best.env")"
cp "$T/table.md" "$OUT/tune-table.md" 2>/dev/null && cat "$OUT/tune-table.md"
run step-profile 90 -- "${BENCH[@]}" "${STEP[@]}" --opt kfra,adam --steps 1 --count-steps 1 --profile --profile-steps 3 --top 25 --out "$T/step-profile.json"
[ "${KERNELS_S:-300}" -gt 0 ] && run kernels-variants "${KERNELS_S:-300}" -- "${BENCH[@]}" kernels --device webgpu --variants --skip-ts --reps 3
[ -n "${KFRA_BUNDLE:-}" ] && cp "$KFRA_BUNDLE"/app/bin/results/kernels.json "$T/kernels.json" 2>/dev/null
cp bench/results/kernels.json "$T/kernels.json" 2>/dev/null
tar czf "$OUT/tune.tgz" -C "$OUT" tune && rm -rf "$T" && echo "wrote $OUT/tune.tgz"
