#!/usr/bin/env bash
# The pictures in docs/images/: the template's Start sheet, and the defects example annotated by apxl
# (its Placements sheet and its Warnings sheet), drawn by LibreOffice headless at 70 dpi.
# Needs LibreOffice and poppler (apt-get install -y libreoffice-calc poppler-utils) and apxl installed.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
apxl validate workbooks/examples/defects.xlsx --annotate "$tmp/defects-marked.xlsx" >/dev/null || true
cp workbooks/template.xlsx "$tmp/"
(cd "$tmp" && soffice --headless --convert-to pdf defects-marked.xlsx template.xlsx >/dev/null 2>&1)
pdftoppm -r 70 -png -f 1 -l 1 -singlefile "$tmp/template.pdf" docs/images/start-sheet
pdftoppm -r 70 -png -f 2 -l 2 -singlefile "$tmp/defects-marked.pdf" docs/images/placements-marked
# the Warnings sheet is the last sheet: its first page is the one whose text starts with the summary line
for page in $(seq 1 "$(pdfinfo "$tmp/defects-marked.pdf" | awk '/^Pages/ {print $2}')"); do
  if pdftotext -f "$page" -l "$page" "$tmp/defects-marked.pdf" - | head -1 | grep -q '^apxl: '; then
    pdftoppm -r 70 -png -f "$page" -l "$page" -singlefile "$tmp/defects-marked.pdf" docs/images/warnings-sheet
    break
  fi
done
rm -r "$tmp"
