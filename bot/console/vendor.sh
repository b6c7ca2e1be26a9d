#!/usr/bin/env bash
# `make vendor`: refresh the console's vendored JavaScript from the npm registry.
#
# The console needs no build step and no network at run time, so the files it serves are
# committed under bot/console/static/vendor/ with their licenses. Bump a version here, run
# `make vendor`, read the diff, run the console tests. npm verifies each tarball against the
# registry's integrity hash; the hashes of what was copied are written to VERSIONS.txt.
set -euo pipefail
cd "$(dirname "$0")"
out=static/vendor
tests=../../tests/console/vendor
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# package@version  file in the package  name here
vendored=(
  "htmx.org@2.0.11 dist/htmx.min.js $out/htmx.min.js LICENSE $out/htmx.LICENSE.txt"
  "chart.js@4.5.1 dist/chart.umd.min.js $out/chart.umd.min.js LICENSE.md $out/chart.js.LICENSE.txt"
  # tests only: the accessibility check of the console's pages (MPL-2.0)
  "axe-core@4.11.1 axe.min.js $tests/axe.min.js LICENSE $tests/axe-core.LICENSE.txt"
)
mkdir -p "$out" "$tests"
: > "$out/VERSIONS.txt"
for line in "${vendored[@]}"; do
  read -r spec file target license license_target <<< "$line"
  (cd "$work" && npm pack --silent "$spec" > /dev/null)
  tarball=$(ls "$work"/*.tgz)
  mkdir "$work/x" && tar xzf "$tarball" -C "$work/x"
  cp "$work/x/package/$file" "$target"
  cp "$work/x/package/$license" "$license_target"
  echo "$spec $file sha256:$(sha256sum "$target" | cut -d' ' -f1)" >> "$out/VERSIONS.txt"
  rm -rf "$work/x" "$tarball"
done
cat "$out/VERSIONS.txt"
