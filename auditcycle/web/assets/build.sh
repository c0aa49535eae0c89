#!/usr/bin/env bash
# Rebuild auditcycle/web/static from GOV.UK Frontend's npm package, at the version govuk-frontend-jinja
# supports (its README's compatibility table: govuk-frontend-jinja 4.1.0 is GOV.UK Frontend 6.3.0).
# The built files are committed, so running the app needs no Node. No font and no crown or crest ships:
# a council may use GOV.UK Frontend, but not GOV.UK's typeface or its brand images.
set -euo pipefail
GOVUK_FRONTEND_VERSION=6.3.0
SASS_VERSION=1.108.2
here="$(cd "$(dirname "$0")" && pwd)"
static="$here/../static"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
npm init -y >/dev/null
npm install --silent --no-audit --no-fund "govuk-frontend@$GOVUK_FRONTEND_VERSION" "sass@$SASS_VERSION"
mkdir -p "$static"
node_modules/.bin/sass --load-path=node_modules --style=compressed --no-source-map --quiet-deps \
  "$here/app.scss" "$static/govuk-frontend.min.css"
cp node_modules/govuk-frontend/dist/govuk/govuk-frontend.min.js "$static/govuk-frontend.min.js"
echo "$GOVUK_FRONTEND_VERSION" > "$static/GOVUK_FRONTEND_VERSION"
