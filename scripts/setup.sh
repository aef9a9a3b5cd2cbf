#!/usr/bin/env bash
# One-command, idempotent set-up for a fresh Debian 12 machine with Node and npm:
#   system libraries (Vulkan loader, Mesa lavapipe when no hardware Vulkan driver, OpenBLAS, Redis,
#   Chromium for the dashboard's browser tests),
#   then Bun and the npm packages. Every step says what it does and skips itself when done.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }
SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null; then SUDO="sudo"; else say "not root and no sudo: system packages cannot be installed"; fi
fi
export DEBIAN_FRONTEND=noninteractive

have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
apt_updated=0
apt_update() { [ "$apt_updated" = 1 ] || { say "apt-get update"; $SUDO apt-get update -qq; apt_updated=1; }; }
apt_install() { apt_update; say "apt-get install $*"; $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null; }

# 1. OpenBLAS (the CPU backend's gemm and LAPACK) and the Vulkan loader (WebGPU through Dawn).
for pkg in libopenblas0-pthread libvulkan1; do
  if have_pkg "$pkg"; then say "$pkg: already installed"; else apt_install "$pkg"; fi
done

# 1b. Redis, the store behind the multi-machine sweep queue (`bench sweep --queue`, `bench worker`).
#     Debian's package starts a system service on port 6379; the tests start their own servers on
#     free loopback ports, so the service is left as the package configures it (loopback only).
if have_pkg redis-server; then say "redis-server: already installed"; else apt_install redis-server; fi

# 1c. Chromium, the headless browser the dashboard's tests drive (test/dashboard/, playwright-core
#     with executablePath /usr/bin/chromium: no browser download).
if have_pkg chromium; then say "chromium: already installed"; else apt_install chromium; fi

# 2. A Vulkan driver. A hardware driver (e.g. NVIDIA's ICD) is used as is; otherwise Mesa's
#    lavapipe, which must come from bookworm-backports (Debian 12's Mesa 22 is rejected by Dawn).
# Prints the first Vulkan ICD manifest that is not a software or Mesa driver, if any.
find_hardware_icd() {
  local f
  for f in /usr/share/vulkan/icd.d/*.json /etc/vulkan/icd.d/*.json /usr/local/share/vulkan/icd.d/*.json \
           /usr/local/nvidia/share/vulkan/icd.d/*.json; do
    [ -e "$f" ] || continue
    if ! grep -qiE 'libvulkan_(lvp|radeon|intel|intel_hasvk|virtio|dzn|gfxstream)' "$f"; then echo "$f"; return; fi
  done
}
hardware_icd=$(find_hardware_icd)
mesa_version=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)
if [ -n "$hardware_icd" ]; then
  say "hardware Vulkan driver found ($hardware_icd): not installing lavapipe"
elif [[ "$mesa_version" == 25.* ]]; then
  say "mesa-vulkan-drivers $mesa_version (lavapipe): already installed"
else
  if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
    mirror=$( (grep -rhoE '^(URIs: *)?https?://[^ ]*/debian/?$' /etc/apt/sources.list.d/ 2>/dev/null; grep -hoE 'https?://[^ ]*/debian/? ' /etc/apt/sources.list 2>/dev/null) | sed -E 's/^URIs: *//; s/ +$//' | head -n1 || true)
    mirror=${mirror:-http://deb.debian.org/debian}
    say "adding bookworm-backports from $mirror"
    printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$mirror" \
      | $SUDO tee /etc/apt/sources.list.d/backports.sources >/dev/null
    apt_updated=0
  fi
  apt_update
  say "apt-get install -t bookworm-backports mesa-vulkan-drivers (lavapipe, software Vulkan)"
  $SUDO apt-get install -y -qq --no-install-recommends -t bookworm-backports mesa-vulkan-drivers >/dev/null
fi

# 3. Bun and the packages. npm installs Bun itself (a pinned dependency) with everything else;
#    optional dependencies carry the native parts (sharp's libvips, bun-webgpu's Dawn). `npm install`
#    follows package-lock.json; `npm ci` cannot be used because bun-webgpu 0.1.7 names optional
#    darwin/win32 packages that were never published at that version, which `npm ci` reports as a
#    lock file out of sync.
if [ -x node_modules/.bin/bun ] && [ -d node_modules/bun-webgpu ] && [ node_modules/.package-lock.json -nt package-lock.json ]; then
  say "node_modules: up to date"
else
  say "npm install (Bun $(node -p 'require("./package.json").dependencies.bun'), bun-webgpu, sharp, apache-arrow, vitest, from package-lock.json)"
  npm install --no-audit --no-fund --loglevel=error
fi
# 4. Bun where a new shell finds it (a link in /usr/local/bin, or ~/.local/bin without root), checked
#    by running `bun run train --help` in a fresh login shell; its last line says where.
bash scripts/link-bun.sh
