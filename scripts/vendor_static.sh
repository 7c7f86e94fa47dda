#!/usr/bin/env bash
# Copy the front-end assets CPMS serves itself (USWDS 3, htmx 2) from node_modules into static/vendor/.
# No CDN and no external fonts: every asset a page loads comes from our own origin.
# Idempotent: static/vendor/ is rebuilt from scratch on every run. Run after `npm ci --no-audit --no-fund`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NODE_MODULES="$ROOT/node_modules"
USWDS="$NODE_MODULES/@uswds/uswds/dist"
HTMX="$NODE_MODULES/htmx.org/dist"
DEST="$ROOT/static/vendor"

for required in "$USWDS/css/uswds.min.css" "$USWDS/js/uswds.min.js" "$USWDS/js/uswds-init.min.js" \
                "$USWDS/img" "$USWDS/fonts" "$HTMX/htmx.min.js"; do
    if [ ! -e "$required" ]; then
        echo "vendor_static.sh: $required is missing. Run 'npm ci --no-audit --no-fund' in $ROOT first." >&2
        exit 1
    fi
done

# Build next to the destination and swap, so a failed copy never leaves a half-filled static/vendor/.
mkdir -p "$ROOT/static"
STAGING="$(mktemp -d "$ROOT/static/.vendor.XXXXXX")"
trap 'rm -rf "$STAGING"' EXIT
mkdir -p "$STAGING/uswds/css" "$STAGING/uswds/js" "$STAGING/htmx"
cp "$USWDS/css/uswds.min.css" "$STAGING/uswds/css/"
cp "$USWDS/js/uswds.min.js" "$USWDS/js/uswds-init.min.js" "$STAGING/uswds/js/"
# uswds.min.css refers to ../img/ and ../fonts/: keep that layout.
cp -R "$USWDS/img" "$USWDS/fonts" "$STAGING/uswds/"
cp "$HTMX/htmx.min.js" "$STAGING/htmx/"
chmod 755 "$STAGING"

rm -rf "$DEST"
mv "$STAGING" "$DEST"
trap - EXIT
echo "vendor_static.sh: copied USWDS $(node -p "require('$NODE_MODULES/@uswds/uswds/package.json').version" 2>/dev/null || echo '?') and htmx into static/vendor/"
