"""Build the docs site into `_docs/` without Quarto: nbdev's processing, then mkdocs-material with mkdocs-jupyter.

    python tools/build_docs.py                # build _docs/ (open _docs/index.html from disk)
    python tools/build_docs.py --out DIR      # build into DIR instead
    python tools/build_docs.py --check        # then open every page in headless Chromium (tools/check_docs.py)

The notebooks first go through nbdev's own processing, the step `nbdev_proc_nbs` runs before Quarto: `#| hide` cells
removed, `show_doc` rendered, exported symbols documented, written to `_proc/`. `nbdev_proc_nbs` itself cannot be
called here because it installs Quarto first when Quarto is missing, so this script calls the function it wraps
(`nbdev.serve.proc_nbs`). Each processed notebook then becomes one page: its front matter becomes a heading, nbdev's
cell directives are applied (`echo: false` hides the input), Quarto-only markup is removed, links to notebooks and to
the doc host become links to pages of this site; show_doc's signatures lose the links nbdev puts into their comments,
and special methods (`__repr__`) keep their names and lose the docstrings Python gives them. A description longer
than one `>` line is kept whole (nbdev keeps its first line). mkdocs-material renders the pages with their stored
outputs (nothing is executed), a sidebar in pipeline order (`PLACED_AFTER`), a search box that works from disk (the
`offline` plugin), and a footer link to the previous and the next stage on every page; `docs_assets/agentsim.css`
makes output tables fit the content column. Nothing is loaded from the internet.

`nbdev_docs` keeps working where Quarto exists, and its configuration stays in `nbs/_quarto.yml`: nbdev 2 only reads
`_quarto.yml` from `nbs_path` (`refresh_quarto_yml` writes `nbs/_quarto.yml`, `proc_nbs` copies it into `_proc/`,
where `quarto render` runs), so a top-level `_quarto.yml` would be ignored by `nbdev_docs`.
"""
import argparse, configparser, json, os, re, shutil, sys, tempfile, time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
NBS = ROOT/'nbs'

def _doc_host() -> str:
    "Where nbdev says the docs live (settings.ini's doc_host + doc_baseurl): nbdev writes links to symbols there."
    settings = configparser.ConfigParser()
    settings.read(ROOT/'settings.ini', encoding='utf-8')
    return settings['DEFAULT']['doc_host'].rstrip('/') + '/' + settings['DEFAULT']['doc_baseurl'].strip('/') + '/'


DOC_HOST = _doc_host()
REMOVE_INPUT = 'remove_input'  # the cell tag mkdocs-jupyter is told to hide the input of
WORKER_SHIM = 'assets/javascripts/iframe-worker-file.js'  # lets search run from file:// (see the file)
STYLES = 'assets/stylesheets/agentsim.css'  # output tables that fit the content column (see the file)


# Pages whose number does not say where they belong in the pipeline, each placed right after another page (by its
# notebook's name without `.ipynb`). A page that does not exist is skipped, and so is a rule whose anchor does not
# exist (the page then keeps its number's place); `03a_transport` needs no rule: it sorts after `03_llm`.
PLACED_AFTER = {
    '21_checkable': '10_generate',  # a kind of request, made by the request generators' stage
    '20_judge': '11_evaluate',  # the judge and agentsim_judge_check, after the stage that rates
    '22_cluster': '15_runs',  # repeated runs spread over a Ray cluster
}


def _number_order(path: Path) -> tuple:
    "`03_llm` < `03a_transport` < `04_check` < `10_generate`: the number, then its letter."
    number, letter = re.match(r'(\d+)([a-z]*)_', path.name).groups()
    return int(number), letter, path.name


def source_notebooks(nbs: Path | None = None) -> list[Path]:
    "The pages' notebooks in pipeline order: `index.ipynb` first, then `NN_topic.ipynb` by number, moved by `PLACED_AFTER`."
    nbs = nbs or NBS
    stages = sorted((p for p in nbs.glob('*.ipynb') if re.match(r'\d+[a-z]*_', p.name)), key=_number_order)
    names = [p.stem for p in stages]
    moved = {page: anchor for page, anchor in PLACED_AFTER.items() if page in names and anchor in names}
    order = [name for name in names if name not in moved]
    for page, anchor in moved.items(): order.insert(order.index(anchor) + 1, page)
    return [nbs/'index.ipynb'] + [nbs/f'{name}.ipynb' for name in order]


def page_name(notebook: str) -> str:
    "The page a notebook becomes, as nbdev names it: the number prefix dropped (`08_agent.ipynb` -> `agent.html`)."
    return re.sub(r'^\d+[a-zA-Z0-9]*_', '', Path(notebook).stem.lower()) + '.html'


def process_notebooks(n_workers: int = 2) -> Path:
    "Run nbdev's processing of `nbs/` into `_proc/` (only notebooks changed since the last run); return `_proc/`."
    from nbdev.serve import proc_nbs
    here = Path.cwd()
    os.chdir(ROOT)  # nbdev finds settings.ini from the working directory
    try: return Path(proc_nbs(path=str(NBS), n_workers=n_workers))
    except Exception as error:
        raise RuntimeError(f"nbdev's processing of the notebooks failed: {error}\n(nbdev runs every cell that imports "
                           "something, to render show_doc: a NameError there means the cell also uses names from "
                           "other cells; keep imports in cells of their own, as nbdev's FAQ asks)") from error
    finally: os.chdir(here)


def _text(value) -> str: return ''.join(value) if isinstance(value, list) else value


def _lines(text: str) -> list[str]: return text.splitlines(keepends=True)


def fix_links(markdown: str) -> str:
    "Point links at this site's pages: `NN_topic.ipynb` and the doc host's `topic.html` become `topic.html`."
    markdown = markdown.replace(DOC_HOST, '')
    return re.sub(r'\]\((\d+[a-zA-Z0-9]*_[\w-]+)\.ipynb', lambda m: '](' + page_name(m[1]), markdown)


def _unlink_code(match: re.Match) -> str:
    "A fenced code block with nbdev's links to symbols (`[`name`](url)`, put into docments comments) as plain names."
    return re.sub(r'\[`?([^\]`]+)`?\]\([^)\s]*\)', r'\1', match[0])


def _builtin_docstrings() -> set[str]:
    "The docstrings Python gives special methods that have none of their own (`Return repr(self).`, ...)."
    kinds = (object, type, int, float, str, list, dict, set, tuple)
    docs = {getattr(attribute, '__doc__', None) for kind in kinds for name, attribute in vars(kind).items()
            if name.startswith('__')}
    return {doc.strip() for doc in docs if isinstance(doc, str) and '\n' not in doc.strip()}


BUILTIN_DOCSTRINGS = _builtin_docstrings()


def _drop_builtin_docstring(markdown: str) -> str:
    "show_doc's markdown without a docstring Python made up: a method with none of its own shows `Call self as a function.`"
    docstring = re.search(r'\n\*([^*\n]+)\*\s*$', markdown)
    return markdown[:docstring.start()] + '\n' if docstring and docstring[1].strip() in BUILTIN_DOCSTRINGS else markdown


def fix_show_doc(markdown: str) -> str:
    "show_doc's markdown as plain markdown shows it: no Quarto attributes, links out of code, special methods by name."
    markdown = re.sub(r'(\]\([^)]*\))\{[^}]*\}', r'\1', markdown)  # Quarto's `[source](url){target=...}`
    markdown = re.sub(r'^```[^\n]*\n.*?^```', _unlink_code, markdown, flags=re.M | re.S)
    # a special method's heading as its name: markdown makes `__repr__` a bold "repr"
    markdown = re.sub(r'^(#+ [\w.]*__\w+__)$', lambda m: m[1].replace('_', '\\_'), markdown, flags=re.M)
    markdown = _drop_builtin_docstring(markdown)
    # a pydantic model without a docstring of its own inherits BaseModel's, which describes pydantic, not the model
    # (and links pages of pydantic's own docs); the fields and the signature above it are what the reader needs
    start = markdown.find(PYDANTIC_DOCSTRING)
    return markdown if start < 0 else markdown[:start].rstrip() + '\n'


PYDANTIC_DOCSTRING = '*!!! abstract "Usage Documentation"*'


def _directives(source: str) -> tuple[dict, str]:
    "Split nbdev's `#| key: value` lines from a code cell's source."
    directives, body = {}, []
    for line in source.splitlines(keepends=True):
        if line.startswith('#|'):
            key, _, value = line[2:].strip().partition(':')
            directives[key.strip()] = value.strip()
        else: body.append(line)
    return directives, ''.join(body).strip('\n')


def _front_matter(cell) -> dict:
    "The YAML front matter nbdev puts in a notebook's first (raw) cell, or {}."
    text = _text(cell['source']).strip()
    if cell['cell_type'] != 'raw' or not text.startswith('---'): return {}
    return yaml.safe_load(text.strip('-\n')) or {}


def _output(output):
    "An output as a static page shows it: markdown links fixed, widget views replaced by their text form."
    data = output.get('data')
    if not data: return output
    data.pop('application/vnd.jupyter.widget-view+json', None)
    if 'text/markdown' in data: data['text/markdown'] = _lines(fix_links(fix_show_doc(_text(data['text/markdown']))))
    if 'text/html' in data: data['text/html'] = _lines(_text(data['text/html']).replace(DOC_HOST, ''))
    return output


def source_description(notebook: Path) -> str | None:
    "The description of a source notebook: every `>` line under its `# title`, joined (nbdev keeps only the first)."
    cells = json.loads(Path(notebook).read_text(encoding='utf-8'))['cells']
    first = next((_text(cell['source']) for cell in cells if cell['cell_type'] == 'markdown'), '')
    if not re.match(r'\s*# ', first): return None
    quoted = re.search(r'^>[ \t]?.*(?:\n>[ \t]?.*)*', first, flags=re.M)
    return ' '.join(line[1:].strip() for line in quoted[0].splitlines()) if quoted else None


def page_notebook(nb: dict,
                  description: str | None = None,  # the page's description (default: the front matter's)
                 ) -> tuple[dict, str]:
    "A processed notebook made ready for mkdocs-jupyter; returns it and the page title."
    front = _front_matter(nb['cells'][0]) if nb['cells'] else {}
    title, description = str(front.get('title', 'Untitled')), description or front.get('description')
    cells = [{'cell_type': 'markdown', 'metadata': {},
              'source': _lines(f'# {title}\n' + (f'\n> {fix_links(description)}\n' if description else ''))}]
    for cell in nb['cells'][1 if front else 0:]:
        if cell['cell_type'] == 'raw': continue
        if cell['cell_type'] == 'markdown':
            cell['source'] = _lines(fix_links(_text(cell['source'])))
            cells.append(cell)
            continue
        directives, body = _directives(_text(cell['source']))
        if 'hide' in directives or directives.get('include') == 'false': continue
        if directives.get('output') == 'false': cell['outputs'] = []
        cell['outputs'] = [_output(o) for o in cell.get('outputs', [])]
        cell['source'] = _lines(body)
        if directives.get('echo') == 'false' or not body:
            cell.setdefault('metadata', {}).setdefault('tags', []).append(REMOVE_INPUT)
        if body or cell['outputs']: cells.append(cell)
    for number, cell in enumerate(cells): cell['id'] = f'cell-{number}'
    nb['cells'] = cells
    nb['metadata'].pop('widgets', None)  # saved widget state makes nbconvert load the widget manager from a CDN
    return nb, title


def _local_images(markdown: str) -> list[str]:
    "Relative image paths a markdown text refers to (`![](path)` or `<img src=path>`)."
    paths = re.findall(r'!\[[^\]]*\]\(([^)\s]+)', markdown) + re.findall(r'<img[^>]*\ssrc="([^"]+)"', markdown)
    return [p for p in paths if not re.match(r'[a-z]+:', p)]


def write_pages(proc: Path, docs: Path, nbs: Path | None = None) -> list[tuple[str, str]]:
    "Write one page notebook per source notebook into `docs`, with the images they show; return (file, title) in order."
    nbs = nbs or NBS
    nav = []
    for source in source_notebooks(nbs):
        nb, title = page_notebook(json.loads((proc/source.name).read_text(encoding='utf-8')), source_description(source))
        name = Path(page_name(source.name)).with_suffix('.ipynb').name
        (docs/name).write_text(json.dumps(nb, indent=1, ensure_ascii=False), encoding='utf-8')
        for cell in nb['cells']:
            if cell['cell_type'] != 'markdown': continue
            for image in _local_images(_text(cell['source'])):
                (docs/image).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(nbs/image, docs/image)
        nav.append((name, 'Home' if source.name == 'index.ipynb' else title))
    for asset in (WORKER_SHIM, STYLES):
        (docs/asset).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(Path(__file__).parent/'docs_assets'/Path(asset).name, docs/asset)
    return nav


def mkdocs_config(docs: Path, site: Path, nav: list[tuple[str, str]], cache: Path) -> dict:
    "The mkdocs configuration: Material, offline search, no web fonts, prev/next footer, notebooks as pages."
    return {
        'site_name': 'agentsim',
        'site_description': 'Fine-tuning data and evaluation for small LLM agent planners',
        'docs_dir': str(docs), 'site_dir': str(site),
        'use_directory_urls': False,  # pages are files, so the site opens from disk
        'theme': {'name': 'material', 'font': False,  # no Google Fonts: nothing comes from the internet
                  'features': ['navigation.footer', 'navigation.top', 'search.highlight']},
        'nav': [{title: name} for name, title in nav],
        'extra': {'polyfills': [WORKER_SHIM]},  # instead of the offline plugin's shim from unpkg.com
        'extra_css': [STYLES],
        'markdown_extensions': ['tables', 'admonition', 'pymdownx.superfences'],
        'plugins': ['search', 'offline',  # offline: the search index is inlined so search works from file://
                    {'mkdocs-jupyter': {'include_source': True, 'execute': False, 'allow_errors': False,
                                        'ignore_h1_titles': True,  # the sidebar's titles are the ones in `nav`
                                        'no_prompt': True, 'include_requirejs': False,
                                        # the notebooks have no formulas: an empty script instead of MathJax's CDN
                                        'custom_mathjax_url': 'data:text/javascript,',
                                        'remove_tag_config': {'remove_input_tags': [REMOVE_INPUT]},
                                        'cache': True, 'cache_dir': str(cache)}}],
    }


def build(out: Path, n_workers: int = 2) -> list[tuple[str, str]]:
    "Build the site into `out`; return the pages as (file, title) in navigation order."
    from mkdocs.commands.build import build as mkdocs_build
    from mkdocs.config import load_config
    proc = process_notebooks(n_workers)
    with tempfile.TemporaryDirectory(prefix='agentsim-docs-') as tmp:
        docs = Path(tmp)/'docs'
        docs.mkdir()
        nav = write_pages(proc, docs)
        config_file = Path(tmp)/'mkdocs.yml'
        config_file.write_text(yaml.safe_dump(mkdocs_config(docs, Path(out).resolve(), nav, proc/'.mkdocs-jupyter')))
        mkdocs_build(load_config(str(config_file)))
    (Path(out)/'404.html').unlink()  # a server's page, never shown from disk (its links are absolute)
    return nav


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', default=str(ROOT/'_docs'), help='directory to build the site into')
    parser.add_argument('--n_workers', type=int, default=2, help="processes for nbdev's notebook processing")
    parser.add_argument('--check', action='store_true', help='open every page in headless Chromium afterwards')
    args = parser.parse_args(argv)
    start = time.monotonic()
    nav = build(Path(args.out), args.n_workers)
    print(f'{len(nav)} pages built into {args.out} in {time.monotonic() - start:.1f} s')
    if args.check:
        sys.path.insert(0, str(Path(__file__).parent))
        from check_docs import check_site
        problems = check_site(Path(args.out))
        if problems: sys.exit('\n'.join(problems))
        print('every page loads in headless Chromium with no console error, broken link or missing image')


if __name__ == '__main__': main()
