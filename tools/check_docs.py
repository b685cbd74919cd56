"""Open every page of the built docs site in headless Chromium, from disk, and list what is wrong.

    python tools/check_docs.py [SITE_DIR] [--screenshots DIR]

A page is wrong when the browser logs a console error or an uncaught exception, a request fails (a missing file,
an image, a script), a request goes to the internet (the site must work offline), an image does not load
(`naturalWidth` 0), an internal link points to a file that is not in the site, or the page shows a path in a
machine's home (`/root/...`, `/home/<user>/...`: a stored output that should show a path relative to the home or the
run; this part needs no browser). The search box is tried on the home page. The browser is the system's Chromium (Debian package `chromium`), driven by playwright; playwright's own
browser download is not needed.
"""
import argparse, os, re, shutil, sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = {'index.html': 'home.png', 'agent.html': 'agent.png'}  # the home page and one stage page


def chromium_path() -> str | None:
    "The system Chromium, or None when it is not installed (`$CHROMIUM` overrides the search)."
    return os.environ.get('CHROMIUM') or shutil.which('chromium') or shutil.which('chromium-browser')


def _local_file(url: str) -> Path | None:
    "The file a file:// URL points to, without its #fragment or ?query; None for other URLs."
    parts = urlsplit(url)
    return Path(unquote(parts.path)) if parts.scheme == 'file' else None


def _broken_links(site: Path, hrefs: list[str]) -> list[str]:
    "Internal links whose file is not in the site (external http(s) and mailto links are not followed)."
    broken = []
    for href in hrefs:
        target = _local_file(href)
        if target is None: continue
        if not target.is_file(): broken.append(href)
        elif not target.resolve().is_relative_to(site.resolve()): broken.append(f'{href} (outside the site)')
    return broken


def _home_paths() -> re.Pattern:
    "Paths in a home directory: root's, any user's under /home, and this machine's own home wherever it is."
    homes = [r'/root/', r'/home/[\w.-]+/']
    home = Path.home().as_posix().rstrip('/')
    if home not in ('', '/root') and not home.startswith('/home/'): homes.append(re.escape(home) + '/')
    return re.compile('|'.join(homes))


HOME_PATHS = _home_paths()


def machine_paths(site: Path) -> list[str]:
    "Every built page that shows a path in a home directory, with the text around the first one."
    problems = []
    for html in sorted(Path(site).glob('*.html')):
        text = html.read_text(encoding='utf-8', errors='replace')
        if found := HOME_PATHS.search(text):
            around = text[max(0, found.start() - 60):found.end() + 60].replace('\n', ' ')
            problems.append(f'{html.name}: shows a path in a home directory ({found[0]!r}, in ...{around}...)')
    return problems


def check_page(page, site: Path, html: Path) -> list[str]:
    "Load one page and return its problems, each prefixed with the page's name."
    problems = []
    page.on('console', lambda m: problems.append(f'console {m.type}: {m.text}') if m.type == 'error' else None)
    page.on('pageerror', lambda e: problems.append(f'uncaught exception: {e}'))
    page.on('requestfailed', lambda r: problems.append(f'request failed: {r.url} ({r.failure})'))
    page.goto(html.as_uri(), wait_until='load')
    page.wait_for_timeout(200)  # scripts that run after load (search index, footer) get to log their errors
    broken_images = page.evaluate(
        "Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)")
    problems += [f'image does not load: {src[:120]}' for src in broken_images]
    hrefs = page.evaluate("Array.from(document.querySelectorAll('a[href]')).map(a => a.href)")
    problems += [f'broken link: {href}' for href in _broken_links(site, hrefs)]
    return [f'{html.name}: {p}' for p in problems]


def check_search(page, site: Path, query: str = 'trajectory') -> list[str]:
    "Type `query` into the home page's search box; a problem when no result shows up."
    page.goto((site/'index.html').as_uri(), wait_until='load')
    page.keyboard.press('/')  # Material focuses the search box on '/' (and on 's')
    page.wait_for_timeout(300)
    page.locator('input.md-search__input').press_sequentially(query, delay=20)  # Material searches on key presses
    try: page.wait_for_selector('.md-search-result__item', timeout=10_000)
    except Exception: return [f'index.html: searching for {query!r} shows no result']
    return []


def screenshot(page, html: Path, folder: Path):
    "Save the page as the reader first sees it; a stage page scrolled to its first example with its output."
    folder.mkdir(parents=True, exist_ok=True)
    if html.name != 'index.html':
        example = page.locator('.jp-CodeCell:not(.celltag_remove_input):has(.jp-OutputArea-output)').first
        if example.count(): example.evaluate("cell => window.scrollTo(0, cell.getBoundingClientRect().top + window.scrollY - 80)")
        page.wait_for_timeout(800)  # the header fades to the page title on scrolling
    page.screenshot(path=str(folder/SCREENSHOTS[html.name]))


def _block_internet(route):
    "Abort every request that leaves the disk, so that one shows up as a failure."
    if route.request.url.startswith(('file:', 'data:', 'blob:', 'about:')): route.continue_()
    else: route.abort()


def check_site(site: Path, screenshots: Path | None = ROOT/'screenshots', executable: str | None = None) -> list[str]:
    "Every problem of every page of `site`; take the screenshots into `screenshots` (None: take none)."
    from playwright.sync_api import sync_playwright
    executable = executable or chromium_path()
    if executable is None: raise FileNotFoundError('no Chromium: apt-get install chromium (or set $CHROMIUM)')
    site = Path(site).resolve()
    pages = sorted(site.glob('*.html'))
    if not pages: return [f'{site}: no HTML pages']
    problems = machine_paths(site)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True)
        try:
            context = browser.new_context(viewport={'width': 1280, 'height': 900})
            context.route('**/*', _block_internet)
            for html in pages:
                page = context.new_page()
                problems += check_page(page, site, html)
                if screenshots is not None and html.name in SCREENSHOTS: screenshot(page, html, screenshots)
                page.close()
            if (site/'search'/'search_index.js').is_file():  # the offline search index
                page = context.new_page()
                problems += check_search(page, site)
                page.close()
        finally: browser.close()
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('site', nargs='?', default=str(ROOT/'_docs'), help='the built site')
    parser.add_argument('--screenshots', default=str(ROOT/'screenshots'), help='where the screenshots go')
    args = parser.parse_args(argv)
    problems = check_site(Path(args.site), Path(args.screenshots))
    if problems: sys.exit('\n'.join(problems))
    print(f'{len(list(Path(args.site).glob("*.html")))} pages load with no console error, broken link or missing image')


if __name__ == '__main__': main()
