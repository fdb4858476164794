"""The picture of the partnership report in the README: docs/images/batch-report.png.

    python docs/make_report_image.py                 # apxl batch over workbooks/examples/partnership/returns
    python docs/make_report_image.py batch.html      # a page `apxl batch --format html` already wrote

By default the page is what `apxl batch workbooks/examples/partnership/returns --import-counts
workbooks/examples/partnership/counts-rutland.csv --format html` writes. Drawn by Chromium headless (Debian:
apt-get install -y chromium); the page fetches nothing, so no network is needed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PARTNERSHIP = ROOT / "workbooks" / "examples" / "partnership"
IMAGE = ROOT / "docs" / "images" / "batch-report.png"


def screenshot(html_path: Path, image: Path, size: str = "1280,1600") -> None:
    """Chromium headless draws the page; a missing browser is a one-line message, not a traceback."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if not browser:
        sys.exit("make_report_image: chromium not found (apt-get install -y chromium)")
    image.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    f"--screenshot={image}", f"--window-size={size}", html_path.resolve().as_uri()],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html", nargs="?", help="an HTML report to draw (default: run the example batch)")
    parser.add_argument("--image", default=str(IMAGE), help=f"the PNG to write (default {IMAGE})")
    parser.add_argument("--size", default="1280,1600", help="the window, width,height in pixels")
    args = parser.parse_args(argv)
    if args.html:
        page = Path(args.html)
    else:
        page = Path(os.environ.get("TMPDIR", "/tmp")) / "report.html"
        subprocess.run([sys.executable, "-m", "apxl", "batch", "workbooks/examples/partnership/returns", "--import-counts",
                        "workbooks/examples/partnership/counts-rutland.csv", "--format", "html", "--output", str(page)],
                       cwd=ROOT, check=False)
    screenshot(page, Path(args.image), args.size)
    print(f"{args.image} from {page}")


if __name__ == "__main__":
    main()
