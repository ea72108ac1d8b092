"""PolyBanking: one self-hosted PostFinance payment gateway for many small websites."""
from setuptools import find_namespace_packages, setup

requires = [
    "pyramid>=2.0,<3",
    "pyramid_tm>=2.5",
    "pyramid_jinja2>=2.10",
    "zope.sqlalchemy>=3.1",
    "transaction>=4",
    "SQLAlchemy>=2.0,<3",
    "alembic>=1.13",
    "huey>=2.5",
    "requests>=2.31",
    "waitress>=3",
    "plaster_pastedeploy",
    "psycopg[binary]>=3.1",
    "redis>=5",
    "argon2-cffi>=23",
    "tzdata",  # IANA zones for polybanking.timezone without relying on the system's database
    "fpdf2>=2.8.4",  # summary PDF, pure Python; draws the same SVG charts as the admin page
    "prometheus_client>=0.20",  # /metrics (issue 8)
    # PostFinance Checkout's official SDK: every call to Checkout (PROTOCOL §11); brings PyJWT
    # and cryptography, which the Checkout sandbox uses to check requests and sign webhooks.
    "postfinancecheckout>=6.4,<7",
    "PyJWT>=2.8",
    "cryptography>=42",
]

tests_require = [
    "pytest>=8",
    "pytest-timeout",
    "WebTest>=3",
    "playwright>=1.40",  # drives Debian's Chromium; never downloads a browser
    "ruff",
    "Flask>=3",  # the example shop of client/ (client/pyproject.toml's [shop] extra), in the browser test
    "openapi-core>=0.19",  # every API answer of the functional tests is checked against openapi.yaml
    "schemathesis>=4",  # property-based requests against the running app, from openapi.yaml
    "openpyxl",  # reads the Excel exports back in tests
    "hypothesis>=6.100",  # fuzz tests of the parsers and the public endpoints (issue 8)
    # .ci/run moves the clock with its libfaketime (Debian's 0.9.10 breaks Python's sleeps and waits)
    "libfaketime>=3",
    "import-linter>=2.3",  # the architecture's contracts in pyproject.toml (tests/unit/test_architecture.py)
    "standardwebhooks>=1.1",  # the specification's own library checks the JSON IPN (test_ipn_json.py)
]

setup(
    name="polybanking",
    version="0.1.0",
    description=__doc__,
    # The data folders (templates, static, fonts) are packages too, declared as such: otherwise
    # setuptools warns, for each of them, that it "would be ignored" (hundreds of lines at `make run`).
    packages=find_namespace_packages(include=["polybanking", "polybanking.*"], exclude=["*.__pycache__"]),
    include_package_data=True,
    package_data={"polybanking": ["openapi.yaml"], "": ["*.jinja2", "*.css", "*.js", "*.ttf", "LICENSE"]},
    zip_safe=False,
    python_requires=">=3.11",
    install_requires=requires,
    extras_require={"test": tests_require},
    entry_points={
        "paste.app_factory": ["main = polybanking:main"],
        "paste.server_runner": ["waitress = polybanking.server:serve_paste"],
        "console_scripts": ["polybanking = polybanking.scripts.cli:main"],
    },
)
