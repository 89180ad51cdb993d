#!/usr/bin/env bash
# Rebuild the projector's vendored JavaScript (src/embedlab/server/static/vendor/) from the npm registry.
# Pinned versions; the bundle is committed, so nothing is fetched when embedlab runs.
#   bash scripts/vendor_js.sh
set -euo pipefail
REGL_SCATTERPLOT=1.16.0
ESBUILD=0.25.12
THREE=0.187.0
here="$(cd "$(dirname "$0")/.." && pwd)"
out="$here/src/embedlab/server/static/vendor"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
npm init -y >/dev/null
npm install --no-audit --no-fund --save-exact "regl-scatterplot@$REGL_SCATTERPLOT" "three@$THREE" "esbuild@$ESBUILD" >/dev/null
cat > entry.js <<'JS'
import createScatterplot from "regl-scatterplot";
window.createScatterplot = createScatterplot;
JS
# three.js for the 3-D view: only the classes it uses (tree-shaken), as window.THREE, with OrbitControls
cat > three-entry.js <<'JS'
import { BufferAttribute, BufferGeometry, Color, PerspectiveCamera, Points, PointsMaterial, Raycaster, Scene, Vector2,
         Vector3, WebGLRenderer } from "three";
import { OrbitControls } from "three/examples/jsm/controls/OrbitControls.js";
window.THREE = { BufferAttribute, BufferGeometry, Color, PerspectiveCamera, Points, PointsMaterial, Raycaster, Scene,
                 Vector2, Vector3, WebGLRenderer, OrbitControls };
JS
mkdir -p "$out"
npx esbuild entry.js --bundle --minify --format=iife --target=es2020 --legal-comments=eof \
  --outfile="$out/regl-scatterplot.min.js" >/dev/null
npx esbuild three-entry.js --bundle --minify --format=iife --target=es2020 --legal-comments=eof \
  --outfile="$out/three-points.min.js" >/dev/null
sha=$(sha256sum "$out/regl-scatterplot.min.js" | cut -d' ' -f1)
three_sha=$(sha256sum "$out/three-points.min.js" | cut -d' ' -f1)
{
  echo "# Vendored JavaScript"
  echo
  echo "Built by \`bash scripts/vendor_js.sh\` (npm install of the pinned versions into a temporary folder, then"
  echo "\`esbuild --bundle --minify --format=iife\`); do not edit by hand."
  echo
  echo "| file | package | version | licence | sha256 |"
  echo "|---|---|---|---|---|"
  echo "| regl-scatterplot.min.js | regl-scatterplot (Fritz Lekschas) | $REGL_SCATTERPLOT | MIT | $sha |"
  echo "| three-points.min.js | three (three.js authors; Points, Raycaster, OrbitControls only) | $THREE | MIT | $three_sha |"
  echo
  echo "Bundled dependencies (from node_modules at build time):"
  echo
  echo "| package | version | licence |"
  echo "|---|---|---|"
  for dir in node_modules/regl node_modules/regl-line node_modules/dom-2d-camera node_modules/gl-matrix \
             node_modules/pub-sub-es node_modules/@flekschas/utils node_modules/earcut; do
    [ -f "$dir/package.json" ] || continue
    node -e 'const p=require(process.argv[1]); console.log(`| ${p.name} | ${p.version} | ${p.license} |`)' \
      "$PWD/$dir/package.json"
  done
  echo
  echo "esbuild $ESBUILD (MIT) only builds the bundle; it is not shipped."
} > "$out/VENDORED.md"
echo "wrote $out/regl-scatterplot.min.js ($sha) and $out/three-points.min.js ($three_sha)"
