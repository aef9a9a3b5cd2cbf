#!/usr/bin/env bash
# A whole GPU loan in one command, from the checkout root after the bundle's run.sh has unpacked:
#   bash .device-bundle/run.sh bash scripts/device-session.sh
# 1. scripts/device-tune.sh: every kernel choice alone, the winners together; writes best.env.
# 2. scripts/device-check.sh with best.env exported: the project against plain PyTorch, the
#    crosscheck against the CPU backend (so the chosen kernels are also checked for accuracy),
#    the profile, the kernels, a short train.
# $OUT (default ./device-out) receives at most six files: tune.tgz, tune-table.md, best.env,
# check.tgz, summary.md, session.log. Env: KERNELS_S (tune's kernel variants, default 45),
# CHECK_BUDGET_S (the check's budget, default 240).
set -uo pipefail
OUT="${OUT:-./device-out}"
mkdir -p "$OUT" || exit 1
OUT=$(cd "$OUT" && pwd)
{
  t0=$SECONDS
  KERNELS_S="${KERNELS_S:-45}" OUT="$OUT" bash scripts/device-tune.sh
  echo "== tune done in $((SECONDS - t0)) s"
  if [ -s "$OUT/best.env" ]; then
    echo "== check with: $(tr '\n' ' ' <"$OUT/best.env")"
    # shellcheck disable=SC1091
    . "$OUT/best.env"
  else
    echo "== check with the defaults (they were the fastest, or the tune failed)"
  fi
  OUT="$OUT/check" BUDGET_S="${CHECK_BUDGET_S:-240}" bash scripts/device-check.sh
  cp "$OUT/check/summary.md" "$OUT/summary.md" 2>/dev/null
  tar czf "$OUT/check.tgz" -C "$OUT" check && rm -rf "$OUT/check"
  echo "== session done in $((SECONDS - t0)) s"
} 2>&1 | tee "$OUT/session.log"
