"""Fuzz apxl's reader and its write-back for a set number of minutes (not part of CI).

    python bench/fuzz.py --minutes 5 [--out /tmp/apxl-fuzz] [--seed N]

Seeded random mutations (rerun one with --seed) of real workbooks: a tracker apxl writes, every .xlsx/.xlsm of the wild corpus
and the abuse files of tests/abuse.py (small ones). A mutation edits the XML text of one part (a token from
a dictionary of hostile cell references, error values, entities, bad UTF-8 ...), drops, duplicates or
renames a part, or flips, cuts and splices the zip's own bytes. Each mutant runs in a forked child with a
2 GiB address-space limit and a 60 s alarm:

1. reader: `apxl.validate(path)` must give a report or an `ApxlError`;
2. write-back: for .xlsx/.xlsm mutants that read, `annotate(path, out)` and `clear(out, out2)` must give a
   zip that passes its CRC test and reads again, or an `ApxlError`.

Anything else (another exception, a signal, a timeout, a part lost by the write-back) is a finding: the
mutant is saved in --out with a .txt saying what happened, and the run goes on. What it finds becomes a
regression test (tests/test_reliability.py) and a line in docs/reliability.md.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import resource
import signal
import sys
import time
import traceback
import warnings
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

TOKENS = [
    b'<c r="XFD1048576"><v>1</v></c>', b'<c r="A1048576"><v>1</v></c>', b'<c r="ZZ9"><v>2</v></c>',
    b'<c r="B2" t="e"><v>#SPILL!</v></c>', b'<c r="C2" t="e"><v>#N/A</v></c>', b'<c r="D2" t="s"><v>99999</v></c>',
    b'<c r="E2" t="s"><v>-1</v></c>', b'<c r="F2" t="n"><v>1e308</v></c>', b'<c r="G2" t="d"><v>2026-13-45</v></c>',
    b'<c r="H2" t="b"><v>7</v></c>', b'<c r="I2"><f>1/0</f></c>', b'<c r="J2" t="inlineStr"><is><t>=cmd|x</t></is></c>',
    b"<!DOCTYPE x [<!ENTITY a \"aaaa\">]>", b"&a;", b"&#0;", b"&#xFFFE;", b"\xff\xfe", b"\xc3\x28", b"\x00",
    b"<![CDATA[ ]]>", b"</sheetData>", b"<sheetData>", b"<row>", b'<row r="0">', b'<row r="99999999">', b"</row>",
    b'<mergeCell ref="A1:XFD1048576"/>', b'<definedName name="apxl_template_version">"9.9"</definedName>',
    b'<sheet name="Placements" sheetId="9" r:id="rId1"/>', b'<sheet name="" sheetId="1" r:id="rId404"/>',
    b'<Relationship Id="rId1" Type="x" Target="../../../../etc/passwd"/>', b'<Relationship Target="/"/>',
    b'<workbookPr date1904="1"/>', b"<si><t>" + b"x" * 40000 + b"</t></si>", b'<dimension ref="A1:XFD1048576"/>',
    b"Z\xcc\x81o\xc3\xab", b'"', b"<", b">", b"'", b" ", b"\n",
]


def seeds(limit_bytes: int = 400_000) -> list[tuple[str, bytes]]:
    """The workbooks mutants are made from: a tracker, the small corpus files and the small abuse files."""
    import tempfile

    import abuse

    from workbooks import tracker, write_xlsx

    out: list[tuple[str, bytes]] = []
    with tempfile.TemporaryDirectory() as tmp:
        write_xlsx(Path(tmp) / "tracker.xlsx", tracker())
        out.append(("tracker.xlsx", (Path(tmp) / "tracker.xlsx").read_bytes()))
        folder = Path(tmp) / "abuse"
        abuse.make_all(folder)
        for p in sorted(folder.iterdir()):
            if p.suffix in (".xlsx", ".xlsm") and 0 < p.stat().st_size <= limit_bytes:
                out.append((p.name, p.read_bytes()))
    corpus = ROOT.parent / "shared" / "corpus" / "wild"
    if corpus.is_dir():
        for p in sorted(corpus.iterdir()):
            if p.suffix in (".xlsx", ".xlsm") and p.stat().st_size <= limit_bytes:
                out.append((p.name, p.read_bytes()))
    return out


def _members(data: bytes) -> list[tuple[zipfile.ZipInfo, bytes]] | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return [(i, zf.read(i)) for i in zf.infolist()]
    except Exception:  # noqa: BLE001 - the seed is itself broken: only byte mutations then
        return None


def _rezip(members: list[tuple[zipfile.ZipInfo, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for info, body in members:
            zf.writestr(info.filename, body)
    return buf.getvalue()


def mutate(data: bytes, rnd: random.Random) -> tuple[bytes, str]:
    """One to three mutations of a workbook's bytes; returns the mutant and what was done."""
    done = []
    for _ in range(rnd.randint(1, 3)):
        members = _members(data)
        kind = rnd.choice(["xml", "xml", "xml", "drop", "dup", "bytes", "cut"] if members else ["bytes", "cut"])
        if kind in ("xml", "drop", "dup") and members:
            k = rnd.randrange(len(members))
            info, body = members[k]
            if kind == "xml":
                at = rnd.randrange(len(body) + 1)
                if rnd.random() < 0.5:
                    tok = rnd.choice(TOKENS)
                    end = at + rnd.choice([0, 0, 1, 5, 40])
                    body = body[:at] + tok + body[end:]
                    done.append(f"xml {info.filename}@{at} {tok[:40]!r}")
                else:
                    body = body[:at] + bytes([rnd.randrange(256)]) + body[at + 1:]
                    done.append(f"xml-byte {info.filename}@{at}")
                members[k] = (info, body)
            elif kind == "drop":
                members.pop(k)
                done.append(f"drop {info.filename}")
            else:
                members.append((info, body))
                done.append(f"dup {info.filename}")
            data = _rezip(members)
        elif kind == "bytes" and data:
            at = rnd.randrange(len(data))
            data = data[:at] + bytes([rnd.randrange(256)]) + data[at + 1:]
            done.append(f"byte @{at}")
        elif data:
            at = rnd.randrange(len(data))
            data = data[:at]
            done.append(f"cut @{at}")
    return data, "; ".join(done)


def _child(path: str, write_back: bool) -> int:
    """In the forked child: 0 fine, 3 a finding (traceback on stderr)."""
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
    signal.alarm(60)
    import apxl
    from apxl.errors import ApxlError

    try:
        try:
            report = apxl.validate(path, as_of="2026-11-30")
        except ApxlError:
            return 0
        if not write_back or not path.endswith((".xlsx", ".xlsm")):
            return 0
        from apxl.annotate import annotate, clear

        out, out2 = path + ".annotated.xlsx", path + ".cleared.xlsx"
        try:
            annotate(path, out, report)
        except ApxlError:
            return 0
        broken_before, names_before = _damaged(path)
        broken_after, names_after = _damaged(out)
        # unchanged parts are copied byte for byte, so a part damaged in the input stays damaged
        assert broken_after <= broken_before, f"annotated copy: damaged parts {sorted(broken_after - broken_before)}"
        lost = names_before - names_after
        assert not lost, f"annotated copy lost parts {sorted(lost)[:5]}"
        try:
            apxl.validate(out, as_of="2026-11-30")
            clear(out, out2)
        except ApxlError:
            return 0
        return 0
    except Exception:  # noqa: BLE001 - the finding
        traceback.print_exc()
        return 3


def _damaged(path: str) -> tuple[set[str], set[str]]:
    """The parts of a zip that do not inflate to their CRC, and all its part names."""
    bad = set()
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        for info in zf.infolist():
            try:
                with zf.open(info) as fh:
                    while fh.read(1 << 20):
                        pass
            except Exception:  # noqa: BLE001 - damaged, encrypted or unsupported
                bad.add(info.filename)
    return bad, names


def run_one(data: bytes, folder: Path, write_back: bool = True) -> tuple[str, str]:
    """Check one mutant in a forked child: ("ok" | "exception" | "signal N" | "timeout", detail)."""
    path = folder / "mutant.xlsx"
    path.write_bytes(data)
    err = folder / "child.err"
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        fd = os.open(err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(fd, 2)
        code = 1
        try:
            code = _child(str(path), write_back)
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    detail = err.read_text(errors="replace")[-3000:] if err.exists() else ""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        return ("timeout" if sig == signal.SIGALRM else f"signal {sig}"), detail
    code = os.WEXITSTATUS(status)
    return ("ok" if code == 0 else "exception"), detail


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=5.0)
    p.add_argument("--out", default="/tmp/apxl-fuzz")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--no-write-back", action="store_true")
    args = p.parse_args(argv)
    warnings.filterwarnings("ignore", category=UserWarning)       # duplicate part names are a mutation
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work = out / "work"
    work.mkdir(exist_ok=True)
    seed = args.seed if args.seed is not None else int(time.time())
    rnd = random.Random(seed)
    pool = seeds()
    print(f"fuzz: seed {seed}, {len(pool)} seed workbooks, {args.minutes} min; findings in {out}", flush=True)
    stop = time.monotonic() + args.minutes * 60
    runs = 0
    found: dict[str, int] = {}
    while time.monotonic() < stop:
        name, base = rnd.choice(pool)
        data, how = mutate(base, rnd)
        outcome, detail = run_one(data, work, not args.no_write_back)
        runs += 1
        if outcome != "ok":
            key = outcome + ": " + (detail.strip().splitlines() or ["?"])[-1][:120]
            found[key] = found.get(key, 0) + 1
            if found[key] == 1:
                stem = f"finding{len(found):03d}"
                (out / f"{stem}.xlsx").write_bytes(data)
                (out / f"{stem}.txt").write_text(f"seed file: {name}\nmutation: {how}\noutcome: {outcome}\n\n{detail}")
                print(f"fuzz: new finding {stem}: {key} (from {name}: {how})", flush=True)
    print(f"fuzz: {runs} mutants in {args.minutes} min; {len(found)} distinct findings", flush=True)
    for key, n in sorted(found.items(), key=lambda kv: -kv[1]):
        print(f"  {n:5d}  {key}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
