"""Websocket close codes shared by the desktop, the wallboard and the web chat.

A client reads the code to know what to do next: 4401 means sign in again (a retry with
the same credentials gets the same answer), 1013 means the same login may work in a
moment (the store or the active router could not answer), so a client retries it.
"""

from __future__ import annotations

CLOSE_UNAUTHORIZED = 4401  # unknown, revoked or ended sign-in: log in again
CLOSE_UNAVAILABLE = 1013  # "try again later": the store or the router cannot answer now
