"""The HTTP API (FastAPI), the web verification page with its in-browser verifier
(``static/``) and the printable PDF. Built on :mod:`province` and below; imports no CLI code."""
