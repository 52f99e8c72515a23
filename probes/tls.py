"""One verified TLS context per process, shared by every HTTPS client the agent makes.

httpx builds a fresh `ssl.SSLContext` for each client, parsing certifi's ~150 CA
certificates every time: ~20 ms of CPU and, through allocator fragmentation, RSS that
the daemon never gets back (10 clients: +5.5 MB; 10 clients sharing one context: +0).
The daemon makes two clients per cycle (the light probe, the upload), for months. The
context is built by httpx's own `create_ssl_context`, so verification is exactly what
each client had before; one context per `trust_env` value, as httpx reads
`SSL_CERT_FILE`/`SSL_CERT_DIR` only when trusting the environment.
"""

from __future__ import annotations

import functools
import ssl

import httpx


@functools.cache
def verified_context(trust_env: bool = True) -> ssl.SSLContext:
    """httpx's default verifying context, made once (contexts are safe to share)."""
    return httpx.create_ssl_context(trust_env=trust_env)
