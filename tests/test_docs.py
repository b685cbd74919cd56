"The docs site builds without Quarto, has one page per notebook in pipeline order, and loads cleanly in Chromium."
import json, os, re, subprocess, sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO/'tools'))
from build_docs import fix_show_doc, page_name, source_description, source_notebooks  # noqa: E402
from check_docs import chromium_path, machine_paths  # noqa: E402


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


def test_sidebar_order_places_pages_by_stage_and_skips_missing_ones(tmp_path):
    "Pages go by number, except those `PLACED_AFTER` moves; a page or an anchor that does not exist changes nothing."
    for name in ['index', '03_llm', '03a_transport', '04_check', '10_generate', '11_evaluate', '15_runs', '16_planner_evaluation',
                 '19_browser', '21_checkable', '22_cluster', '23_performance']:
        (tmp_path/f'{name}.ipynb').write_text('{}')
    order = [p.stem for p in source_notebooks(tmp_path)]
    assert order == ['index', '03_llm', '03a_transport', '04_check', '10_generate', '21_checkable', '11_evaluate', '15_runs',
                     '22_cluster', '16_planner_evaluation', '19_browser', '23_performance']  # no 20_judge: nothing breaks
    (tmp_path/'10_generate.ipynb').unlink()  # without its anchor a page keeps its number's place
    assert [p.stem for p in source_notebooks(tmp_path)][-3:] == ['19_browser', '21_checkable', '23_performance']
    assert page_name('03a_transport.ipynb') == 'transport.html' and page_name('nbs/14a_request_stats.ipynb') == 'request_stats.html'


def test_show_doc_markdown_reads_as_plain_markdown():
    "Links nbdev puts into signatures become plain names; a special method is named, without Python's stock docstring."
    signature = ('### load_trajectories\n\n```python\ndef load_trajectories(\n    trajectories_dir:str, # what '
                 '[`agentsim_trajectories`](https://agentsim.github.io/agentsim/trajectories.html#agentsim_trajectories) wrote\n'
                 ')->list[dict]:\n```\n\n*One record per request, see [`matches`](browser.html#matches).*')
    fixed = fix_show_doc(signature)
    assert '# what agentsim_trajectories wrote\n' in fixed and '](' not in fixed.split('```')[1]
    assert '[`matches`](browser.html#matches)' in fixed, 'links outside code stay links'
    dunder = '### ReplyCache.__repr__\n\n```python\ndef __repr__()->str:\n```\n\n*Return repr(self).*'
    assert fix_show_doc(dunder).startswith('### ReplyCache.\\_\\_repr\\_\\_\n') and 'Return repr' not in fix_show_doc(dunder)
    undocumented = '### LlamaServer.url\n\n```python\ndef url()->str:\n```\n\n*Call self as a function.*'
    assert 'Call self' not in fix_show_doc(undocumented) and 'def url()' in fix_show_doc(undocumented)
    own = '### LLM.__call__\n\n```python\ndef __call__(prompt)\n```\n\n*Ask the model; validate its answer.*'
    assert fix_show_doc(own).endswith('*Ask the model; validate its answer.*'), 'a docstring of its own stays'


def test_a_multi_line_description_is_kept_whole(tmp_path):
    notebook = tmp_path/'18_study.ipynb'
    notebook.write_text(json.dumps({'cells': [{'cell_type': 'markdown', 'source': [
        '# The study\n', '\n', '> The first line,\n', '> the second line.\n', '\n', 'Not the description.']}]}))
    assert source_description(notebook) == 'The first line, the second line.'


def test_pages_show_no_home_directory(site):
    "A stored output shows paths relative to the home or the run, never this machine's `/root/...`."
    assert machine_paths(site) == []


def test_home_directory_check_finds_them(tmp_path):
    (tmp_path/'core.html').write_text("<pre>Path('/root/.cache/agentsim')</pre>")
    (tmp_path/'local.html').write_text('<pre>/home/alice/models/a.gguf</pre>')
    (tmp_path/'stats.html').write_text('<pre>~/.cache/agentsim and /homes/ and home/x/</pre>')
    problems = '\n'.join(machine_paths(tmp_path))
    assert "core.html: shows a path in a home directory ('/root/'" in problems
    assert "local.html: shows a path in a home directory ('/home/alice/'" in problems and 'stats.html' not in problems


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


def test_readme_lists_every_page_in_sidebar_order():
    "The README's Documentation section links every page, in the order of the site's sidebar."
    readme = (REPO/'README.md').read_text(encoding='utf-8')
    section = readme.split('\n## Documentation\n', 1)[1].split('\n## ', 1)[0]
    listed = re.findall(r'^- \[[^\]]+\]\(nbs/([^)#]+\.ipynb)\)', section, flags=re.M)
    assert listed == [p.name for p in source_notebooks()[1:]]


def test_readme_shows_agentsim_working_on_its_first_screen():
    "Within its first 30 lines the README calls a model and shows the answer; right after, one request as its table."
    lines = (REPO/'README.md').read_text(encoding='utf-8').splitlines()
    first_screen, next_screen = '\n'.join(lines[:30]), '\n'.join(lines[:45])
    assert "get_llm('local')" in first_screen and 'selected_tool=' in first_screen, 'a model call and its answer'
    assert 'run_agent(' in next_screen and '| step | tool |' in next_screen, 'a trajectory as its table'


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
