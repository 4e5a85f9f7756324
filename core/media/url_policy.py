"""Where a result may be downloaded from: checked on the API's URL and on every redirect.

The result URL comes from the API's answer, and its storage host may redirect anywhere, so both
are untrusted. The rules:

* https only. Plain http only when the API base itself is on a loopback host (the local
  sandbox), and then only to loopback addresses. A redirect never goes from https to http.
* never a link-local address (169.254.0.0/16, fe80::/10) or a cloud metadata service (by name
  or address), whatever the API base; never an unspecified, multicast or reserved address.
* with a real (non-loopback) API base, never a loopback or private address either: a result on
  this machine or its LAN is an attack on local services (ComfyUI itself listens on loopback).

Addresses are checked after resolving the host name (``socket.getaddrinfo``), so a public name
pointing at a metadata address is refused too. A name that does not resolve here is left to the
connection (behind a proxy only the proxy resolves it). The check runs before the connection is
made, so a DNS answer that changes in between is not caught: pinning the address would need a
custom connection class, and the storage hosts sit behind CDNs whose addresses change anyway.
"""
from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urljoin, urlsplit

from ..api.settings import is_loopback_host
from ..errors import UnsafeResultUrlError
from ..redaction import shown_url

METADATA_NAMES = frozenset({"metadata.google.internal", "metadata.goog", "metadata", "instance-data",
                            "instance-data.ec2.internal"})
METADATA_ADDRESSES = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200"))


class ResultUrlPolicy:
    """The rules for one download. ``api_base`` is the API base URL the result came from;
    ``None`` (a direct caller, such as a test) counts as a local API."""

    def __init__(self, api_base: str | None = None):
        self.local = api_base is None or is_loopback_host(urlsplit(api_base).hostname)

    def check(self, url: str, previous: str | None = None, request_id: str | None = None) -> str:
        """``url`` when it may be fetched, else ``UnsafeResultUrlError``. ``previous`` is the URL
        that redirected to it."""
        problem = self._problem(url, previous)
        if problem is None:
            return url
        what = "redirected the download to" if previous else "gave the result URL"
        source = "the storage host" if previous else "the API"
        raise UnsafeResultUrlError(f"Refused to download: {source} {what} {shown_url(url)!r}, which {problem}",
                                   request_id=request_id)

    def _problem(self, url: str, previous: str | None) -> str | None:
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            return "is not a valid URL"
        scheme = parts.scheme.lower()
        allowed = ("https", "http") if self.local else ("https",)
        if scheme not in allowed:
            return ("is not an absolute https URL" if scheme in ("", "http")
                    else f"uses {scheme}: (only https is downloaded)")
        if previous is not None and urlsplit(previous).scheme.lower() == "https" and scheme == "http":
            return "leaves https for plain http"
        if parts.username is not None or parts.password is not None or "@" in parts.netloc:
            return "carries a user name or password"
        host = (parts.hostname or "").rstrip(".").lower()
        if not host:
            return "names no host"
        if host in METADATA_NAMES:
            return "is a cloud metadata service"
        addresses = _addresses(host, port or (443 if scheme == "https" else 80))
        if scheme == "http" and (not addresses or not all(a.is_loopback for a in addresses)):
            return "is plain http to a host that is not this machine (only the local sandbox may use http)"
        for address in addresses:
            problem = self._address_problem(address)
            if problem:
                return problem
        return None

    def _address_problem(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
        if address in METADATA_ADDRESSES:
            return "is a cloud metadata service"
        if address.is_link_local:
            return "is a link-local address"
        if address.is_unspecified or address.is_multicast or (address.is_reserved and not address.is_loopback):
            return "is not a routable address"
        if not self.local and address.is_loopback:
            return "is this machine (loopback), not a storage host"
        if not self.local and address.is_private:
            return "is a private network address, not a storage host"
        return None


def redirect_target(url: str, location: str) -> str:
    """Where a redirect from ``url`` to ``location`` leads ("" when it cannot be read: refused
    by ``check`` as not a valid URL)."""
    try:
        return urljoin(url, location)
    except ValueError:
        return ""


def _addresses(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """Every address ``host`` stands for (IPv4-mapped IPv6 as IPv4); [] when it does not resolve."""
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        found = [literal]
    else:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            return []
        found = []
        for info in infos:
            try:
                found.append(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]))
            except ValueError:
                continue
    return [a.ipv4_mapped if isinstance(a, ipaddress.IPv6Address) and a.ipv4_mapped else a for a in found]
