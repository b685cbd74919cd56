"Every command's --help names only flags that command has: help that disagrees with the code misleads."
import configparser, importlib, re
from pathlib import Path
import pytest
from fastcore.script import anno_parser

REPO = Path(__file__).resolve().parent.parent


def commands() -> list[tuple[str, str]]:
    config = configparser.ConfigParser(delimiters=['='])
    config.read(REPO/'settings.ini')
    return [tuple(entry.split('=')) for entry in config['DEFAULT']['console_scripts'].split()]


def flags_named(text: str) -> set[str]:
    "Every `--flag` the text mentions (not `--` alone, nor a flag of another program such as `pip install -e`)."
    return set(re.findall(r'(?<![\w-])--([a-z][a-z0-9_]*)', text))


@pytest.mark.parametrize('name, target', commands(), ids=[name for name, _ in commands()])
def test_help_names_only_flags_that_exist(name, target):
    module_name, function_name = target.split(':')
    try: function = getattr(importlib.import_module(module_name), function_name)
    except ImportError as e: pytest.skip(f'{name}: its optional extra is not installed ({e})')
    parser = anno_parser(function, name)
    text = parser.format_help()
    known = {option.lstrip('-') for action in parser._actions for option in action.option_strings}
    unknown = flags_named(text) - known - {'help'}
    assert not unknown, f'{name} --help names flags it does not have: {sorted(unknown)}'


def test_the_check_finds_a_flag_that_does_not_exist():
    assert flags_named('--shard i/n needs --seed; see pip install -e ".[dev]"') == {'shard', 'seed'}
