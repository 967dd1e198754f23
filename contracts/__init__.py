"""The contracts the harness and the reference system share, installed as the data package ``service_contracts``:
the OpenAPI documents of both services, the alert rules, the fuzzing settings (``schemathesis.toml``) and the
JSON Schema of the targets file. ``contracts/`` in the source tree is the source of truth; read the files through
:mod:`importlib.resources` (the harness: :mod:`harness.resources`), never relative to a module's ``__file__``."""
