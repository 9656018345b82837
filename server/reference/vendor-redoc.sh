#!/bin/sh
# Vendors Redoc's standalone bundle into assets/, so that the reference page served at
# /docs needs no CDN and works offline. Run it through "go tool task reference:vendor".
# Redoc 2 is used: the 3.x bundle loads icons from a CDN and sends telemetry.
set -eu
version="${REDOC_VERSION:-2.5.2}"
here="$(cd "$(dirname "$0")" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "redoc@$version" >/dev/null && tar xzf "redoc-$version.tgz")
# The source map is not shipped: drop the comment pointing at it. The side menu's
# "API docs by Redocly" link shows a logo loaded from Redocly's CDN: an empty inline SVG
# stands in for it, so that the page asks nothing of another host.
sed -e '$ s|^//# sourceMappingURL=redoc.standalone.js.map$||' \
	-e 's|"https://cdn.redoc.ly/redoc/logo-mini.svg"|"data:image/svg+xml,%3Csvg xmlns=%27http://www.w3.org/2000/svg%27/%3E"|' \
	"$tmp/package/bundles/redoc.standalone.js" >"$here/assets/redoc.standalone.js"
if grep -q 'cdn\.' "$here/assets/redoc.standalone.js"; then
	echo "redoc@$version still refers to a CDN; see the test in reference_test.go" >&2
	exit 1
fi
cp "$tmp/package/bundles/redoc.standalone.js.LICENSE.txt" "$here/assets/redoc.standalone.js.LICENSE.txt"
cp "$tmp/package/LICENSE" "$here/assets/redoc.LICENSE"
echo "$version" >"$here/assets/redoc.version"
