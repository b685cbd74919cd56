"The docs site builds without Quarto, has one page per notebook in pipeline order, and loads cleanly in Chromium."
import json, os, re, subprocess, sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO/'tools'))
from build_docs import page_name, source_notebooks  # noqa: E402
from check_docs import chromium_path  # noqa: E402


@pytest.fixture(scope='module')
def site(tmp_path_factory):
    "The site, built once by the command a reader runs."
    out = tmp_path_factory.mktemp('site')/'_docs'
    result = subprocess.run([sys.executable, 'tools/build_docs.py', '--out', str(out)], cwd=REPO,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert re.search(r'^\d+ pages built into .+ in [\d.]+ s$', result.stdout, flags=re.M), result.stdout
    return out


def _nav(html: str) -> list[str]:
    "The pages the sidebar links, in its order (a page's table of contents links are #fragments, left out)."
    links = re.findall(r'<a href="([^"#]+\.html)" class="md-nav__link', html)
    return list(dict.fromkeys(links))


def test_site_structure(site):
    notebooks = source_notebooks()
    pages = [page_name(nb.name) for nb in notebooks]
    built = sorted(p.name for p in site.glob('*.html'))
    assert built == sorted(pages), 'one page per notebook'
    assert pages[0] == 'index.html' and len(pages) == len(list((REPO/'nbs').glob('*.ipynb')))
    home = (site/'index.html').read_text(encoding='utf-8')
    assert _nav(home) == pages, 'the sidebar lists the pages in pipeline order'
    for page, following in zip(pages, pages[1:]):
        html = (site/page).read_text(encoding='utf-8')
        assert f'<a href="{following}" class="md-footer__link md-footer__link--next"' in html, f'{page} links {following}'
    remote = re.findall(r'<(?:script|link|img)\b[^>]*\b(?:src|href)="((?:https?:)?//[^"]+)"', home)
    assert not remote, f'the pages load nothing from the internet: {remote}'
    assert (site/'search'/'search_index.js').is_file(), 'the offline search index'


def test_pages_show_outputs_and_images(site):
    home = (site/'index.html').read_text(encoding='utf-8')
    assert '<img alt="The agentsim pipeline' in home and (site/'images'/'pipeline.svg').is_file()
    for page in ['index.html'] + [page_name(p) for p in source_notebooks()[1:]]:
        assert f'href="{page}"' in home, f'the home page links {page}'
    stats = (site/'stats.html').read_text(encoding='utf-8')
    assert 'src="data:image/png;base64,' in stats, 'plots are embedded in their page'
    agent = (site/'agent.html').read_text(encoding='utf-8')
    assert 'show_doc' not in agent and '#|' not in agent, 'nbdev directives and show_doc calls are not shown'
    assert 'id="run_agent"' in agent, "show_doc's rendering of run_agent is on the page"


def test_readme_links_resolve_from_the_top_level():
    "README.md sits above nbs/: its pipeline picture and its links to the pages resolve from there (as on GitHub)."
    readme = (REPO/'README.md').read_text(encoding='utf-8')
    assert '](nbs/images/pipeline.svg)' in readme and (REPO/'nbs'/'images'/'pipeline.svg').is_file()
    targets = re.findall(r'\]\((?!https?:|#)([^)\s#]+)', readme)
    assert targets and [t for t in targets if t.endswith('.ipynb')], 'the README links the pages'
    assert [t for t in targets if not (REPO/t).exists()] == []


def test_pages_load_in_headless_chromium(site, tmp_path):
    if chromium_path() is None or not _has_playwright():
        reason = 'headless Chromium check needs the Debian package chromium and the Python package playwright'
        if os.environ.get('AGENTSIM_REQUIRE_CHROMIUM') == '1': pytest.fail(reason + ' (AGENTSIM_REQUIRE_CHROMIUM=1)')
        pytest.skip(reason)
    from check_docs import check_site
    problems = check_site(site, tmp_path/'screenshots')
    assert not problems, '\n'.join(problems)
    assert {p.name for p in (tmp_path/'screenshots').iterdir()} == {'home.png', 'agent.png'}


def test_chromium_check_finds_problems(tmp_path):
    "The check itself: a page with a console error, a missing image, a broken link and a script from the internet."
    if chromium_path() is None or not _has_playwright(): pytest.skip('needs chromium and playwright')
    from check_docs import check_site
    (tmp_path/'index.html').write_text('<html><body><a href="stage.html">next</a><a href="gone.html#x">gone</a>'
                                       '<a href="https://example.com/">outside</a></body></html>')
    (tmp_path/'stage.html').write_text('<html><body><img src="missing.png"><script>console.error("boom")</script>'
                                       '<script src="https://example.com/library.js"></script></body></html>')
    problems = '\n'.join(check_site(tmp_path, screenshots=None))
    assert 'index.html: broken link: ' in problems and 'gone.html' in problems and 'example.com/"' not in problems
    assert 'stage.html: image does not load: ' in problems and 'missing.png' in problems
    assert 'stage.html: console error: boom' in problems
    assert 'stage.html: request failed: https://example.com/library.js' in problems
    assert 'index.html: image' not in problems and 'index.html: console' not in problems, problems


def _has_playwright() -> bool:
    try: import playwright.sync_api  # noqa: F401
    except ImportError: return False
    return True
