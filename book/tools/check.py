#!/usr/bin/env python3
"""check.py: checks the built book the way a reader would meet it.

    tools/check.py static  _build      every <img src> and internal <a href>
                                       resolves: the file exists (an SVG also
                                       parses as XML), and an #anchor names an
                                       id on the target page
    tools/check.py browser _build      the same pages in Debian's headless
                                       Chromium: every image decoded (non-zero
                                       natural width), every link to a book
                                       page's #anchor finds that element; then
                                       one full-page screenshot per page in
                                       _build/screenshots/ (a page too tall
                                       for one is shot in slices, PAGE.png,
                                       PAGE-2.png, ...)

The static pass reads the HTML files; the browser pass asks a real browser,
which also catches an SVG that exists but does not render. Both print one
line per problem, naming the page, and exit 1 if there is any.

The browser pass loads one small page, _build/check/index.html, that opens
every book page in turn in an iframe and writes what it finds into its own
DOM, which `chromium --dump-dom` prints. (Chromium gives file:// pages
access to each other only with --allow-file-access-from-files.) The page
heights it reports size the screenshots, since --screenshot captures the
window, not the whole page.
"""
import glob
import html.parser
import json
import os
import re
import subprocess
import sys
import urllib.parse
import xml.dom.minidom

EXTERNAL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


class Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.imgs, self.links = set(), [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "a" and "name" in a:
            self.ids.add(a["name"])
        if tag == "img":
            self.imgs.append(a.get("src", ""))
        if tag == "a" and "href" in a:
            self.links.append(a["href"])
        if tag == "link" and a.get("rel") == "stylesheet":
            self.links.append(a.get("href", ""))


def parse(path):
    p = Page()
    with open(path, encoding="utf-8") as f:
        p.feed(f.read())
    return p


def pages_of(out):
    return sorted(f for f in os.listdir(out) if f.endswith(".html"))


def static(out):
    problems = []
    parsed = {name: parse(os.path.join(out, name)) for name in pages_of(out)}
    nimg = nlink = 0
    for name, p in parsed.items():
        for src in p.imgs:
            nimg += 1
            if not src or EXTERNAL.match(src):
                problems.append(f"{name}: image {src!r} is not a file of the book")
                continue
            path = os.path.normpath(os.path.join(out, urllib.parse.unquote(src)))
            if not os.path.isfile(path) or os.path.getsize(path) == 0:
                problems.append(f"{name}: image {src} is missing")
            elif path.endswith(".svg"):
                try:
                    xml.dom.minidom.parse(path)
                except Exception as e:  # any parse error is the finding
                    problems.append(f"{name}: image {src} is not valid SVG: {e}")
        for href in p.links:
            if EXTERNAL.match(href):
                continue
            nlink += 1
            target, _, anchor = href.partition("#")
            target = urllib.parse.unquote(target)
            if target == "":
                tname, tpage = name, p
            else:
                path = os.path.normpath(os.path.join(out, target))
                if not os.path.exists(path):
                    problems.append(f"{name}: link {href}: {target} does not exist")
                    continue
                tname = os.path.relpath(path, out)
                tpage = parsed.get(tname)
            if anchor:
                if tpage is None:
                    problems.append(f"{name}: link {href}: anchor into a file that is not a book page")
                elif urllib.parse.unquote(anchor) not in tpage.ids:
                    problems.append(f"{name}: link {href}: {tname} has no element id={anchor!r}")
    for line in problems:
        print("check-html:", line)
    print(f"check-html: {len(parsed)} pages, {nimg} images, {nlink} internal links, "
          f"{len(problems)} problems")
    return 1 if problems else 0


MAXSHOT, SLICE = 30000, 15000
SLICE_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>book screenshot slice</title></head>
<body style="margin:0;overflow:hidden"><iframe src="%s" style="position:absolute;left:0;top:-%dpx;width:1200px;height:%dpx;border:0"></iframe></body></html>
"""

CHECK_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>book check</title></head>
<body><pre id="out">running</pre><iframe id="f" width="1200" height="800"></iframe>
<script>
const pages = %s;
const out = [], ids = {}, links = [], heights = {};
const f = document.getElementById('f');
function next(i) {
  if (i == pages.length) return finish();
  f.onload = function () {
    // give images a moment to decode after load
    setTimeout(function () { inspect(pages[i]); next(i + 1); }, 200);
  };
  f.src = '../' + pages[i];
}
function inspect(page) {
  const d = f.contentDocument;
  if (!d) { out.push('FAIL ' + page + ': cannot read the page'); return; }
  ids[page] = new Set([...d.querySelectorAll('[id]')].map(e => e.id));
  for (const img of d.images) {
    if (!img.complete || img.naturalWidth == 0)
      out.push('FAIL ' + page + ': image ' + img.getAttribute('src') + ' did not render');
  }
  for (const a of d.querySelectorAll('a[href]')) {
    const h = a.getAttribute('href');
    if (/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(h)) continue;
    const [t, anchor] = h.split('#');
    const target = t == '' ? page : t;
    if (pages.includes(target)) links.push([page, h, target, anchor]);
    else if (t.endsWith('.html') && !t.includes('/'))
      out.push('FAIL ' + page + ': link ' + h + ' names a page the book does not have');
  }
  heights[page] = d.documentElement.scrollHeight;
  out.push('PAGE ' + page + ' images=' + d.images.length + ' height=' + heights[page]);
}
function finish() {
  for (const [page, h, target, anchor] of links)
    if (anchor && !ids[target].has(decodeURIComponent(anchor)))
      out.push('FAIL ' + page + ': link ' + h + ' finds no element id=' + anchor);
  out.push('HEIGHTS ' + JSON.stringify(heights));
  out.push('DONE');
  document.getElementById('out').textContent = out.join('\\n');
}
next(0);
</script></body></html>
"""


def chromium_cmd():
    cmd = [os.environ.get("CHROMIUM", "chromium"), "--headless", "--disable-gpu",
           "--hide-scrollbars", "--allow-file-access-from-files", "--no-first-run",
           "--disable-dev-shm-usage"]
    if os.geteuid() == 0:
        cmd.append("--no-sandbox")   # Chromium refuses to run as root with its sandbox
    return cmd


def run(cmd, timeout):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        print(f"check-browser: chromium did not finish within {timeout} s: {' '.join(cmd)}")
        sys.exit(1)


def browser(out):
    out = os.path.abspath(out)
    pages = pages_of(out)
    os.makedirs(os.path.join(out, "check"), exist_ok=True)
    os.makedirs(os.path.join(out, "screenshots"), exist_ok=True)
    check = os.path.join(out, "check", "index.html")
    with open(check, "w", encoding="utf-8") as f:
        f.write(CHECK_PAGE % json.dumps(pages))
    r = run(chromium_cmd() + ["--virtual-time-budget=20000", "--dump-dom",
                              "file://" + check], 90)
    m = re.search(r'<pre id="out">(.*?)</pre>', r.stdout, re.S)
    if not m or "DONE" not in m.group(1):
        print("check-browser: the check page did not finish; chromium said:")
        print((r.stderr or "")[-2000:])
        return 1
    report = html.unescape(m.group(1)).splitlines()
    fails = [l[5:] for l in report if l.startswith("FAIL ")]
    heights = json.loads(next(l[8:] for l in report if l.startswith("HEIGHTS ")))
    for l in report:
        if l.startswith("PAGE "):
            print("check-browser:", l[5:])
    for name in pages:
        for old in glob.glob(os.path.join(out, "screenshots", name[:-5] + "*.png")):
            os.remove(old)
        full = max(600, int(heights.get(name, 2000)) + 20)
        # Chromium draws one screenshot up to about 32,000 pixels high; a
        # longer page is shot in slices (PAGE.png, PAGE-2.png, ...), each
        # through a small page that shows the chapter in an iframe moved up
        # by the height of the slices before it.
        nslices = 1 if full <= MAXSHOT else -(-full // SLICE)
        for k in range(nslices):
            shot = os.path.join(out, "screenshots", name[:-5] + (f"-{k + 1}" if k else "") + ".png")
            if nslices == 1:
                h, url = full, "file://" + os.path.join(out, name)
            else:
                # The last slice starts early enough to be at least 600
                # pixels high: a strip a few pixels high is no screenshot.
                top = min(k * SLICE, full - 600)
                h = min(SLICE, full - top)
                frame = os.path.join(out, "check", f"slice-{name}-{k + 1}.html")
                with open(frame, "w") as f:
                    f.write(SLICE_PAGE % ("../" + name, top, full))
                url = "file://" + frame
            run(chromium_cmd() + [f"--window-size=1200,{h}", f"--screenshot={shot}", url], 90)
            if not os.path.isfile(shot) or os.path.getsize(shot) < 1000:
                fails.append(f"{name}: chromium wrote no screenshot {os.path.basename(shot)}")
            else:
                print(f"check-browser: screenshot {os.path.relpath(shot, os.path.dirname(out))} "
                      f"(1200x{h})")
    for l in fails:
        print("check-browser:", l)
    print(f"check-browser: {len(pages)} pages, {len(fails)} problems")
    return 1 if fails else 0


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("static", "browser"):
        print("usage: tools/check.py static|browser BUILD_DIR", file=sys.stderr)
        sys.exit(2)
    if not os.path.isdir(sys.argv[2]):
        print(f"check.py: BUILD_DIR={sys.argv[2]!r} is not a directory (run make first)",
              file=sys.stderr)
        sys.exit(2)
    sys.exit(static(sys.argv[2]) if sys.argv[1] == "static" else browser(sys.argv[2]))
