"""Shared core of the support-analytics tap collection.

Everything the five taps have in common lives here once: the base REST stream
(timeouts, retries honouring Retry-After, error messages), UTC date windows with
per-window checkpoints, value normalisation, secret redaction and schema lookup.
"""
