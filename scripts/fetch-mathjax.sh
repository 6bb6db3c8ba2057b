#!/usr/bin/env bash
# MathJax 3 for the book, served from the built book itself so that equations render offline: the npm
# package's es5/tex-mml-chtml.js and its woff-v2 fonts (about 1.6 MB) into book/_extra/mathjax/, which
# Sphinx copies to _build/html/mathjax/ (html_extra_path in _config.yml; not a folder named _static, whose
# scripts Jupyter Book would load a second time). Skips the download when the files are there.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=3.2.2
dest=book/_extra/mathjax/es5
if [ -f "$dest/tex-mml-chtml.js" ] && [ "$(cat "$dest/VERSION" 2>/dev/null)" = "$VERSION" ]; then
    exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack "mathjax@$VERSION" --silent >/dev/null && tar xzf "mathjax-$VERSION.tgz")
rm -rf book/_extra/mathjax
mkdir -p "$dest/output/chtml/fonts"
cp "$tmp/package/es5/tex-mml-chtml.js" "$dest/"
cp -r "$tmp/package/es5/output/chtml/fonts/woff-v2" "$dest/output/chtml/fonts/"
cp "$tmp/package/LICENSE" book/_extra/mathjax/
echo "$VERSION" > "$dest/VERSION"
echo "MathJax $VERSION -> $dest"
