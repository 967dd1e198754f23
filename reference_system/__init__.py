"""The reference system under test: a real Character Service (legacy and storage backends behind
``USE_STORAGE_SERVICE``), a Storage Service, their database schemas, the seeder and the migration scripts.

A package of its own, apart from the harness: it never imports ``harness``, and the harness's library code
never imports it. Only the launcher of the embedded default (:mod:`harness.embedded`, and ``harness up
--list-faults``) does, lazily, through what a deployment script would use: :mod:`reference_system.faults` (the
fault parser and catalogue, its public API), :mod:`~reference_system.seed`, :mod:`~reference_system.migration`,
:mod:`~reference_system.data_faults` and :mod:`~reference_system.access` (the Storage Service's tokens). The
services run in their own processes (``python -m reference_system.serve``) and are otherwise reached over HTTP and
SQL only.
"""
