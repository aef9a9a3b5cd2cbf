#!/usr/bin/env bash
# .device-bundle/run.sh [COMMAND ...] (copied there by scripts/gpu-bundle.sh): on an offline GPU
# machine, unpacks the bundle (Bun, Dawn and the datasets into /tmp/kfra-bundle, so that the bundle
# folder itself stays as sent; the Debian packages whose libraries are missing), sets the
# environment, prints the WebGPU adapter, then runs COMMAND with that environment, e.g.
#   bash .device-bundle/run.sh bash scripts/device-check.sh
# COMMAND sees: KFRA_BUN (the bun binary), KFRA_BUNDLE (this folder), KFRA_DATA_DIR (the datasets),
# KFRA_TRAIN_ENTRY (the bundled train.js, which `bench sweep` runs for each run),
# KFRA_OPENBLAS_PATH (when needed), XDG_RUNTIME_DIR, VK_DRIVER_FILES, OPENBLAS_CORETYPE.
set -uo pipefail

B=$(cd "$(dirname "$0")" && pwd)
U=/tmp/kfra-bundle
log() { echo "run.sh: $*" >&2; }

# unpack xz|gz FILE DEST: with xz/gzip, or Python's lzma/gzip modules where the tools are missing;
# skipped when DEST is newer than FILE.
unpack() {
  [ -f "$3" ] && [ "$3" -nt "$2" ] && return 0
  local tmp="$3.partial"
  mkdir -p "$(dirname "$3")"
  if command -v "$( [ "$1" = xz ] && echo xz || echo gzip )" >/dev/null; then
    if [ "$1" = xz ]; then xz -dc "$2" >"$tmp"; else gzip -dc "$2" >"$tmp"; fi
  else
    python3 -c "import $( [ "$1" = xz ] && echo lzma || echo gzip ) as m, shutil, sys; shutil.copyfileobj(m.open(sys.argv[1]), open(sys.argv[2], 'wb'))" "$2" "$tmp"
  fi && mv "$tmp" "$3"
}

unpack xz "$B/bun.xz" "$U/bun" && chmod +x "$U/bun" || { log "could not unpack Bun"; exit 1; }

# Dawn: unpacked outside the bundle, reached through a link where bun-webgpu-linux-x64 imports it.
so="$B/node_modules/bun-webgpu-linux-x64/libwebgpu_wrapper.so"
unpack gz "$so.gz" "$U/libwebgpu_wrapper.so" || { log "could not unpack $so.gz"; exit 1; }
ln -sfn "$U/libwebgpu_wrapper.so" "$so"

# sharp and libvips (a bundle built with --prep), where bundled code resolves packages.
if [ -f "$B/sharp.tar.xz" ] && [ ! -d "$B/node_modules/sharp" ]; then
  (xz -dc "$B/sharp.tar.xz" | tar xf - -C "$B/node_modules") || log "could not unpack sharp"
fi

# Datasets.
for f in "$B"/data/*.arrow.xz; do
  [ -e "$f" ] || continue
  g=$(basename "$f" .xz)
  unpack xz "$f" "$U/data/$g" || log "could not unpack $f"
done

# Debian 12 packages, each only when its library is missing: into / (with ldconfig) as root,
# else into $U/sysroot with LD_LIBRARY_PATH.
declare -A SONAME=(
  [libvulkan1]=libvulkan.so.1 [libglvnd0]=libGLdispatch.so.0 [libglx0]=libGLX.so.0 [libgl1]=libGL.so.1
  [libegl1]=libEGL.so.1 [libgles2]=libGLESv2.so.2 [libopengl0]=libOpenGL.so.0
  [libopenblas0-pthread]=libopenblas.so.0 [libgfortran5]=libgfortran.so.5 [libquadmath0]=libquadmath.so.0
)
OPENBLAS_DIR=/usr/lib/x86_64-linux-gnu/openblas-pthread
in_cache() { ldconfig -p 2>/dev/null | grep -qE "[[:space:]]$1[[:space:]]"; }
have_lib() {
  in_cache "$1" && return 0
  [ "$1" = libopenblas.so.0 ] && [ -f "$OPENBLAS_DIR/libopenblas.so.0" ]
}
root=/
if [ "$(id -u)" != 0 ]; then root="$U/sysroot"; mkdir -p "$root"; fi
extracted=()
for deb in "$B"/debs/*.deb; do
  [ -e "$deb" ] || continue
  pkg=$(basename "$deb" | cut -d_ -f1)
  so_name=${SONAME[$pkg]:-}
  if [ -n "$so_name" ] && have_lib "$so_name"; then continue; fi
  if command -v dpkg >/dev/null; then
    dpkg -x "$deb" "$root" && extracted+=("$pkg") || log "dpkg -x $deb failed"
  else
    log "dpkg is missing: cannot unpack $pkg"
  fi
done
if [ ${#extracted[@]} -gt 0 ]; then
  log "unpacked into $root: ${extracted[*]}"
  if [ "$root" = / ]; then
    ldconfig
  else
    export LD_LIBRARY_PATH="$root/usr/lib/x86_64-linux-gnu:$root/lib/x86_64-linux-gnu:$root/usr/lib/x86_64-linux-gnu/openblas-pthread${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  fi
fi
# Debian's OpenBLAS lives in openblas-pthread/ (update-alternatives, which dpkg -x does not run, links it).
if ! in_cache libopenblas.so.0; then
  for dir in "$root/usr/lib/x86_64-linux-gnu/openblas-pthread" /usr/lib/x86_64-linux-gnu/openblas-pthread; do
    if [ -f "$dir/libopenblas.so.0" ]; then
      export KFRA_OPENBLAS_PATH="${KFRA_OPENBLAS_PATH:-$dir/libopenblas.so.0}"
      break
    fi
  done
fi

# Environment.
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/xdg}"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR" 2>/dev/null
NVIDIA_ICD=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f "$NVIDIA_ICD" ]; then export VK_DRIVER_FILES="$NVIDIA_ICD"; fi
# OpenBLAS's DYNAMIC_ARCH took a VM's CPU for "Prescott" (no AVX); name the core when AVX2 is there.
if [ -z "${OPENBLAS_CORETYPE:-}" ] && grep -q avx2 /proc/cpuinfo 2>/dev/null; then export OPENBLAS_CORETYPE=Haswell; fi
export KFRA_BUN="$U/bun" KFRA_BUNDLE="$B" KFRA_DATA_DIR="$U/data" KFRA_TRAIN_ENTRY="$B/app/bin/train.js"
export PATH="$U:$PATH"

log "bun $("$KFRA_BUN" --version), VK_DRIVER_FILES=${VK_DRIVER_FILES:-unset}, OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}${KFRA_OPENBLAS_PATH:+, KFRA_OPENBLAS_PATH=$KFRA_OPENBLAS_PATH}"
"$KFRA_BUN" "$B/app/bin/smoke.js" || log "smoke failed (exit $?): the WebGPU adapter is not usable"

[ $# -gt 0 ] || { log "unpacked; give a command to run, e.g. bash .device-bundle/run.sh bash scripts/device-check.sh"; exit 0; }
exec "$@"
