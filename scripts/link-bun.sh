#!/usr/bin/env bash
# Puts the project's Bun (node_modules/.bin/bun, a pinned npm dependency) where a NEW shell finds it,
# then checks that one does by running `bun run train --help` in a fresh login shell. Called by
# setup.sh after npm install; its last line is setup.sh's.
#   root, or sudo without a password: a link /usr/local/bin/bun, on the default PATH of every shell,
#     login or not (bash -lc, bash -c, sh -c, cron, a new terminal);
#   otherwise: a link ~/.local/bin/bun, which Debian's ~/.profile puts on the PATH of login shells
#     (bash -lc, a new terminal; a line is added to ~/.profile when it lacks one); other shells need
#     ~/.local/bin on their PATH, as the last line says.
# A bun there that is not a link into some project's node_modules is left as it is, and said so.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }
bun_bin=$(readlink -f node_modules/.bin/bun 2>/dev/null || true)
if [ -z "$bun_bin" ] || [ ! -x "$bun_bin" ]; then say "node_modules/.bin/bun is missing: npm install did not install Bun"; exit 1; fi
version=$("$bun_bin" --version)

SUDO=""
if [ "$(id -u)" = 0 ]; then dir=/usr/local/bin
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then dir=/usr/local/bin; SUDO=sudo
else dir="$HOME/.local/bin"
fi
link="$dir/bun"
if [ -L "$link" ] || [ -e "$link" ]; then
  current=$(readlink -f "$link" 2>/dev/null || true)
  if [ "$current" = "$bun_bin" ]; then
    say "$link: already links to this project's Bun $version"
  elif [ -L "$link" ] && { [ ! -e "$current" ] || [[ "$current" == */node_modules/* ]]; }; then
    say "$link: linking to this project's Bun $version (it linked to ${current:-nothing})"
    $SUDO ln -sfn "$bun_bin" "$link"
  else
    say "$link is another Bun ($("$link" --version 2>/dev/null || echo "?")): left as it is"
  fi
else
  say "linking $link to this project's Bun $version ($bun_bin)"
  $SUDO mkdir -p "$dir"
  $SUDO ln -sfn "$bun_bin" "$link"
fi
if [ "$dir" = "$HOME/.local/bin" ] && ! grep -qs '\.local/bin' "$HOME/.profile"; then
  say "adding ~/.local/bin to the PATH in ~/.profile"
  printf '\n# Bun of kfra-webgpu (scripts/setup.sh)\n[ -d "$HOME/.local/bin" ] && PATH="$HOME/.local/bin:$PATH"\n' >> "$HOME/.profile"
fi

# The check: a new login shell with nothing inherited finds bun and runs the trainer's help.
project=$(pwd)
if ! env -i HOME="$HOME" PATH=/usr/local/bin:/usr/bin:/bin bash -lc 'cd "$1" && bun run train --help' check "$project" >/dev/null 2>&1; then
  say "bun $version is installed at $bun_bin, but a new shell does not find it: put $dir on your PATH"
  exit 1
fi
if [ "$dir" = /usr/local/bin ]; then
  say "ready: bun $version at $link; new shells find it"
else
  say "ready: bun $version at $link; new login shells find it (a new terminal, bash -l); for others put $dir on the PATH"
fi
