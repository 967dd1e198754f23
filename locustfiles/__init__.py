"""The harness's locustfiles, installed as the package ``harness.locustfiles`` so a wheel carries them; find the
path with :func:`harness.resources.locustfile`. Locust loads them by path, never by importing this package."""
