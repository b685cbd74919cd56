"Packaging for agentsim, read from settings.ini (nbdev 2 layout). Written for current setuptools: no pkg_resources."
from configparser import ConfigParser
from pathlib import Path
import setuptools

here = Path(__file__).parent
cfg = ConfigParser(delimiters=['='])
cfg.read(here/'settings.ini', encoding='utf-8')
cfg = cfg['DEFAULT']

def words(key): return (cfg.get(key) or '').split()

licenses = {'apache2': ('Apache Software License 2.0', 'OSI Approved :: Apache Software License')}
statuses = ['1 - Planning', '2 - Pre-Alpha', '3 - Alpha', '4 - Beta', '5 - Production/Stable', '6 - Mature', '7 - Inactive']
license_name, license_classifier = licenses[cfg['license']]
local_requirements = words('local_requirements')

setuptools.setup(
    name=cfg['lib_name'],
    version=cfg['version'],
    description=cfg['description'],
    long_description=(here/'README.md').read_text(encoding='utf-8'),
    long_description_content_type='text/markdown',
    author=cfg['author'],
    author_email=cfg['author_email'],
    license=license_name,
    url=cfg['git_url'],
    keywords=cfg['keywords'],
    classifiers=[f"Development Status :: {statuses[int(cfg['status'])]}",
                 f"Intended Audience :: {cfg['audience']}",
                 f"License :: {license_classifier}",
                 'Natural Language :: English',
                 'Programming Language :: Python :: 3'],
    packages=setuptools.find_packages(include=[cfg['lib_name'], cfg['lib_name'] + '.*']),
    include_package_data=True,
    python_requires='>=' + cfg['min_python'],
    install_requires=words('requirements'),
    extras_require={'local': local_requirements,
                    'local15': words('local15_requirements'),
                    'finetune': words('finetune_requirements'),
                    'ray': words('ray_requirements'),
                    'dev': words('dev_requirements') + local_requirements + words('finetune_requirements')
                           + words('ray_requirements')},
    entry_points={'console_scripts': words('console_scripts'),
                  'nbdev': [f"{cfg['lib_name']}={cfg['lib_name']}._modidx:d"]},
    zip_safe=False,
)
