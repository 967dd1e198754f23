"""Data parity between the legacy PostgreSQL (source) and the Storage Service (destination): ``readers`` stream
both sides in key order, ``canonical`` maps records into one form, ``compare`` joins them (range checksums
first), ``verify`` counts and checksums, ``refs`` checks references, ``export_check`` validates an export file,
``report`` holds the results, ``cli`` adds ``harness data ...``."""
