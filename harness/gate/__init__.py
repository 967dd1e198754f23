"""``harness gate``: the migration guide as one executable runbook with one verdict (GO / NO-GO / INCONCLUSIVE).

``plan`` says what runs on a target and why not; ``runner`` runs it; ``preflight``, ``data_checks``,
``suites`` and ``performance`` are the checks, over the harness's library; ``report`` and ``chart`` write what
people read; ``cli`` resolves the run once and is the command."""
