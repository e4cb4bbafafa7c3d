"""Cloud metadata addresses: what a target URL must not name by accident.

On a cloud VM, http://169.254.169.254/ answers with the instance's credentials. A load generator
pointed there (a typo, a pasted example, a hostile .env) would hammer it and could carry its
answers into logs and reports. Settings refuse such a target unless EGRESS_ALLOW names it, and
they do so before anything is sent: this module only reads the URL, it never resolves or connects.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

# AWS (IPv4, and IPv6 on Nitro), Azure, GCP, Oracle and others share 169.254.169.254; GCP also
# answers at its name; AWS ECS task metadata lives at 169.254.170.2; Alibaba at 100.100.100.200.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(address)
    for address in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254")
)
METADATA_NAMES = frozenset({"metadata.google.internal", "metadata", "instance-data", "instance-data.ec2.internal"})


def metadata_host(url: str) -> str | None:
    """The host of `url` when it is a cloud metadata service, else None. Also catches the other
    spellings of an IPv4 address that clients accept (2852039166, 0xa9fea9fe, 169.254.43518)."""
    try:
        host = (urlsplit(url.strip()).hostname or "").rstrip(".").lower()
    except ValueError:
        return None
    if not host:
        return None
    if host in METADATA_NAMES:
        return host
    try:
        address: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(host)
    except ValueError:
        try:  # inet_aton reads the legacy forms (one number, hexadecimal, octal) without any lookup
            address = ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return host if address in METADATA_ADDRESSES else None
