"""Write README.md from nbs/index.ipynb without Quarto.

`nbdev_readme` renders the README through Quarto, which cannot be installed on this project's machines. This script
does the same job for the parts index.ipynb uses: markdown cells as they are, visible code cells as Python blocks,
their text outputs as plain blocks; `#| hide` cells are left out, and `#| echo: false` cells show their output only. Where Quarto exists, `nbdev_readme` is the tool.

    python tools/render_readme.py          # rewrite README.md
    python tools/render_readme.py --check  # exit 1 if README.md is out of date
"""
import json, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _source(cell): return ''.join(cell['source'])


def _output_text(output):
    if output.get('output_type') == 'stream': return ''.join(output['text'])
    data = output.get('data', {})
    if 'text/markdown' in data: return ''.join(data['text/markdown'])
    return ''.join(data.get('text/plain', ''))


def from_top_level(markdown: str) -> str:
    "index.ipynb's relative links and images point into nbs/; README.md sits one folder up, so they get `nbs/`."
    return re.sub(r'(\]\()(?!https?:|#|/|mailto:)([^)\s]+)', r'\1nbs/\2', markdown)


def render(notebook: Path) -> str:
    cells = json.loads(notebook.read_text(encoding='utf-8'))['cells']
    parts = []
    for cell in cells:
        source = _source(cell).strip()
        if cell['cell_type'] == 'markdown':
            source = re.sub(r'^# (.+)\n+> (.+)$', r'# \1\n\n> \2', source, flags=re.M)
            parts.append(from_top_level(source))
            continue
        directives = [line for line in source.splitlines() if line.startswith('#|')]
        if any(d.split()[1:2] in (['hide'], ['default_exp'], ['export']) for d in directives): continue
        code = '\n'.join(line for line in source.splitlines() if not line.startswith('#|')).strip()
        echo = not any(d[2:].replace(' ', '') == 'echo:false' for d in directives)
        if code and echo: parts.append(f'``` python\n{code}\n```')
        outputs = cell.get('outputs', [])
        rich = [''.join(o['data']['text/markdown']).strip() for o in outputs if 'text/markdown' in o.get('data', {})]
        if rich:  # a rich display (a trajectory's table) is shown as the markdown it is, as nbdev_readme shows it
            parts += [from_top_level(markdown) for markdown in rich if markdown]
            continue
        texts = [_output_text(o) for o in outputs]
        text = ''.join(o if o.endswith('\n') else o + '\n' for o in texts if o).rstrip('\n')
        if text: parts.append(f'    ' + text.replace('\n', '\n    '))
    return '\n\n'.join(parts) + '\n'


if __name__ == '__main__':
    readme, text = ROOT/'README.md', render(ROOT/'nbs'/'index.ipynb')
    if '--check' in sys.argv:
        if readme.read_text(encoding='utf-8') != text: sys.exit('README.md is out of date: python tools/render_readme.py')
    else: readme.write_text(text, encoding='utf-8')
