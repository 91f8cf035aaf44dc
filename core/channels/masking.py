"""How stored webhook addresses and secrets are shown: never in full."""

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..crypto import mask_value


def mask_url(url: str) -> str:
    """Scheme, host and path stay readable; the access key in the query and a token-like last path segment (Feishu)
    are masked: ``https://robot.example/send?key=ab******yz``."""
    if not url:
        return ""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        if ":" in (parts.hostname or "") and not host.startswith("["):
            host = f"[{parts.hostname}]" + (f":{parts.port}" if parts.port else "")
    except ValueError:
        return mask_value(url, 4, 2)
    segments = parts.path.split("/")
    if segments and len(segments[-1]) >= 16:  # a token (Feishu's hook ID), not a word like "send"
        segments[-1] = mask_value(segments[-1], 2, 2)
    query = [(k, mask_value(v, 2, 2) if v else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    return urlunsplit((parts.scheme, host, "/".join(segments), urlencode(query, safe="*"), ""))


def mask_secret(secret: str) -> str:
    """Only enough to recognise which secret is stored: ``SEC****************1f``."""
    if not secret:
        return ""
    if len(secret) < 12:
        return "*" * 8
    return mask_value(secret, 3, 2)
