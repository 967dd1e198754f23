"""The reference system under test: a real Character Service (legacy and storage backends behind
``USE_STORAGE_SERVICE``), a Storage Service, their database schemas, the seeder and the migration scripts.

The harness's library code never imports this package: only the launcher of the embedded default
(:mod:`harness.embedded`) does, lazily, and the services run in their own processes
(``python -m harness.reference.serve``).
"""
