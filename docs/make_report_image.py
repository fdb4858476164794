"""The picture of the partnership report in the README: docs/images/batch-report.png.

    python docs/make_report_image.py                 # a sample batch built from the example workbooks
    python docs/make_report_image.py batch.html      # a page `apxl batch --format html` already wrote
    python docs/make_report_image.py --batch workbooks/examples/batch   # check a folder of returns first

Without an argument the sample is the example workbooks' real findings under made-up school names, with
a hand-made provider view and cross-school findings (so the picture does not wait for a real
partnership's returns); with one, that page is drawn as it is. Drawn by Chromium headless (Debian:
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
EXAMPLES = ROOT / "workbooks" / "examples"
IMAGE = ROOT / "docs" / "images" / "batch-report.png"


def sample_batch(as_of: str = "2026-11-30"):
    """A small partnership batch: six returns (one clean, one superseded, one unreadable), five providers."""
    import apxl
    from apxl.batch import BatchReport, CrossFinding, ProviderView, Return
    from apxl.catalogue import finding
    from apxl.findings import Finding, Report

    def report(name: str, keep: int | None = None, file: str | None = None) -> Report:
        """An example workbook's real findings (the first `keep` of them), filed under a school's file name."""
        real = apxl.validate(str(EXAMPLES / name), as_of=as_of)
        found = sorted(real.findings, key=Finding.sort_key)
        if keep is None:
            chosen = found
        else:                                    # a mix: mostly errors, some warnings and notes
            errors = [f for f in found if f.severity == "error"][: keep - keep // 3]
            rest = [f for f in found if f.severity != "error"][: keep - len(errors)]
            chosen = errors + rest
        return Report(file=file or f"returns/{name}", as_of=as_of, findings=chosen, template_version="1.0",
                      policy=real.policy)

    broken_file = "returns/mill-lane-ap-tracker.xlsx"
    broken = Report(file=broken_file, as_of=as_of, findings=[finding(
        "WB006", file=broken_file, reason="it is encrypted (saved with a password)",
        fix="Save a copy without the password and send that")])
    returns = [
        Return(file="returns/beech-hill.xlsx", report=report("clean.xlsx", file="returns/beech-hill.xlsx"),
               school="Beech Hill School", school_urn="120431", return_date="2026-11-21"),
        Return(file="returns/castle-mead.xlsx", report=report("rules-vi.xlsx", 9, "returns/castle-mead.xlsx"),
               school="Castle Mead Academy", school_urn="137702", return_date="2026-11-24"),
        Return(file="returns/fosse-park.xlsx", report=report("rules-cl.xlsx", 7, "returns/fosse-park.xlsx"),
               school="Fosse Park Community College", school_urn="120488", return_date="2026-11-26"),
        Return(file="returns/kingsway.xlsx", report=report("rules-ex.xlsx", 6, "returns/kingsway.xlsx"),
               school="Kingsway Primary School", school_urn="119876", return_date="2026-11-20"),
        Return(file=broken_file, report=broken, readable=False),
        Return(file="returns/oakfield-oct.xlsx", report=report("clean.xlsx", file="returns/oakfield-oct.xlsx"),
               school="Oakfield Academy", school_urn="141220", return_date="2026-10-30", counted=False),
        Return(file="returns/oakfield.xlsx", report=report("defects.xlsx", file="returns/oakfield.xlsx"),
               school="Oakfield Academy", school_urn="141220", return_date="2026-11-27"),
    ]
    providers = [
        ProviderView(name="Greenacres Farm Learning", postcode="LE12 7TF", registration="Unregistered", pupils=9,
                     full_time=6, peak=6, peak_date="2026-11-09", imported=1, looked_after=1, ehc_plan=0,
                     audit_status="Passed", audit_date="2026-02-03", audit_expiry="2027-02-03",
                     last_visit="2026-11-12", schools=["Castle Mead Academy", "Fosse Park Community College",
                                                       "Oakfield Academy"]),
        ProviderView(name="Soar Valley Motor Skills", postcode="LE4 9HA", registration="Unregistered", pupils=7,
                     full_time=5, peak=5, peak_date="2026-10-05", audit_status="Passed", audit_date="2025-12-01",
                     audit_expiry="2026-12-01", last_visit="2026-10-20",
                     schools=["Fosse Park Community College", "Kingsway Primary School"]),
        ProviderView(name="Charnwood Tuition Centre", postcode="LE11 3QF", registration="Unregistered", pupils=5,
                     full_time=3, peak=3, peak_date="2026-09-14", ehc_plan=1, audit_status="Expired",
                     audit_date="2025-09-01", audit_expiry="2026-09-01", last_visit="2026-06-18",
                     schools=["Oakfield Academy"]),
        ProviderView(name="The Bridge Pupil Referral Unit", postcode="LE5 0AB", urn="134567",
                     registration="Registered school", pupils=4, full_time=4, peak=4, peak_date="2026-09-07",
                     audit_status="Not needed", schools=["Beech Hill School", "Kingsway Primary School"]),
        ProviderView(name="Wreake Outdoor Education", postcode="LE14 2PL", registration="Unregistered", pupils=2,
                     full_time=0, peak=0, audit_status="Booked", last_visit="2026-11-02",
                     schools=["Castle Mead Academy"]),
    ]
    cross = [
        CrossFinding(Finding(rule="HR003", severity="error", record="Greenacres Farm Learning",
                             message="Greenacres Farm Learning gives full-time education to 6 pupils of compulsory "
                                     "school age from 09/11/2026 (3 schools, 1 pupil from imported counts): it "
                                     "meets the registration test and must not, as an unregistered setting."),
                     ("returns/castle-mead.xlsx", "returns/fosse-park.xlsx", "returns/oakfield.xlsx")),
        CrossFinding(Finding(rule="XS001", severity="warning", record="UPN ending 4821",
                             message="The same pupil has overlapping placements in two schools' returns "
                                     "(P-006 and P-012): check which school is responsible."),
                     ("returns/fosse-park.xlsx", "returns/kingsway.xlsx")),
        CrossFinding(Finding(rule="XS007", severity="warning", record="URN 141220",
                             message="Two returns from Oakfield Academy: only the one dated 27/11/2026 is counted."),
                     ("returns/oakfield-oct.xlsx", "returns/oakfield.xlsx")),
    ]
    return BatchReport(returns=returns, findings=cross, providers=providers, as_of=as_of,
                       directory="partnership-providers.xlsx")


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
    parser.add_argument("html", nargs="?", help="an HTML report to draw (default: build the sample)")
    parser.add_argument("--batch", metavar="FOLDER", help="check the returns in FOLDER and draw their report")
    parser.add_argument("--as-of", default="2026-11-30", help="the as-at date for --batch and the sample")
    parser.add_argument("--image", default=str(IMAGE), help=f"the PNG to write (default {IMAGE})")
    parser.add_argument("--size", default="1280,1600", help="the window, width,height in pixels")
    args = parser.parse_args(argv)
    if args.html:
        page = Path(args.html)
    else:
        from apxl.reports import to_html

        if args.batch:
            from apxl.batch import validate_many

            batch = validate_many([args.batch], as_of=args.as_of)
        else:
            batch = sample_batch(args.as_of)
        page = Path(os.environ.get("TMPDIR", "/tmp")) / "report.html"
        page.write_text(to_html(batch), encoding="utf-8")
    screenshot(page, Path(args.image), args.size)
    print(f"{args.image} from {page}")


if __name__ == "__main__":
    main()
