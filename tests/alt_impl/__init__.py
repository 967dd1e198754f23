"""A second, independent implementation of ``contracts/character-service.openapi.yaml``, used only by the tests.

It is correct by the contract but makes every choice the contract leaves open differently from the reference
system (``harness/reference``): time-ordered UUIDv7 ids, microsecond timestamps with a ``+00:00`` offset, a path
prefix (``/character``, as the guide's production URL has), its own error wording, RFC 6901 JSON pointers in
``errors[].field`` (``/body/abilities/strength``), a per-call ``request_id`` in every problem body, 415 for a body
that is not JSON, ``/openapi.yaml`` instead of ``/openapi.json``, its own metric names and no cache metrics on the
legacy backend. Two instances (``legacy`` and ``storage``) with identical seeded data play the two backends.
"""
