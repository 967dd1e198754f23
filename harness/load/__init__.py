"""Load tests judged against the alert rules: rule parsing (``rules``), sliding-window evaluation with Prometheus
semantics (``window``), run-level thresholds from the targets file (``thresholds``), the verdict and its exit
codes (``verdict``), ``harness check-latency`` (``latency``), the backend comparison (``compare``) and the CLI
(``cli``). Only ``locust_plugin`` imports locust, and only locustfiles import it."""
