#!/usr/bin/env bash
# Installs a real VS Code for the e2e tier: the npm package code-server 4.100.3
# (= VS Code 1.100.3, the last line that runs on Node 20), set up as in
# ../shared/E2E.md. Its install scripts download prebuilt binaries, which cannot
# work here, so it is installed with scripts off and its native modules are
# built from source. The result is cached OUTSIDE the repository, keyed by
# version; a second run is a no-op. Prints the install directory on stdout.
#
# usage: scripts/e2e-setup.sh            (GPCSCOPE_CODE_SERVER_DIR overrides the place)
set -euo pipefail

version=4.100.3
cache=${XDG_CACHE_HOME:-$HOME/.cache}/gpcscope
dir=${GPCSCOPE_CODE_SERVER_DIR:-$cache/code-server-$version}
log() { printf 'e2e-setup: %s\n' "$*" >&2; }

if [ -f "$dir/.complete" ]; then
	echo "$dir"
	exit 0
fi

# System packages: kerberos headers (a native module of VS Code), the browser
# the test drives, ripgrep for VS Code's search, a compiler for node-gyp.
missing=()
for p in libkrb5-dev chromium ripgrep g++ make python3; do
	dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	log "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update >&2
	apt-get install -y --no-install-recommends "${missing[@]}" >&2
fi

# One installer at a time (two test runs may start together); a half-built
# directory from an interrupted run is thrown away and rebuilt.
mkdir -p "$(dirname "$dir")"
exec 9>"$dir.lock"
flock 9
if [ -f "$dir/.complete" ]; then
	echo "$dir"
	exit 0
fi
rm -rf "$dir"
mkdir -p "$dir"
cd "$dir"
started=$SECONDS
log "installing code-server@$version into $dir (about 5 minutes on 2 cores)"
printf '{"name":"gpcscope-e2e-code-server","private":true}\n' >package.json
npm_config_unsafe_perm=true npm i "code-server@$version" --ignore-scripts --no-audit --no-fund >&2

cd node_modules/code-server/lib/vscode
npm install --omit=dev --ignore-scripts --no-audit --no-fund >&2
# Debian's rg stands in for @vscode/ripgrep's downloaded binary.
mkdir -p node_modules/@vscode/ripgrep/bin
ln -sf "$(command -v rg)" node_modules/@vscode/ripgrep/bin/rg
# Builds every native module from source (kerberos, @parcel/watcher, spdlog,
# node-pty, ...); npm_config_yes matters where the npm config says yes=false.
npm_config_yes=true npm rebuild >&2
ln -sfn node_modules node_modules.asar
(cd bin/remote-cli && ln -sf code-linux.sh code-server)
(cd bin/helpers && ln -sf browser-linux.sh browser.sh)
(cd extensions && npm install --omit=dev --ignore-scripts --no-audit --no-fund >&2)

cd "$dir"
# code-server's own native dependency.
npm_config_yes=true npm rebuild argon2 >&2
node -e "require('$dir/node_modules/argon2')" >&2

touch "$dir/.complete"
log "done in $((SECONDS - started)) s"
echo "$dir"
