"""A throw-away PKI for TLS tests (mutual TLS as AWS IoT Core and its credentials provider do it).

Built by ``trustme``: a test CA, a server certificate, a client certificate, and a "stranger"
client certificate from another CA that the server must refuse. All PEM files; keys are 0600,
as the robot agent wants its key.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import trustme


def write_pki(folder: Path, *, server: str = "localhost",
              client: str = "testbot") -> dict[str, str]:
    """Write the PKI into ``folder``.

    :param server: the server certificate's host name.
    :param client: the common name of both client certificates.
    :returns: paths by role: ``ca``, ``server_cert``, ``server_key``, ``client_cert``,
        ``client_key``, ``stranger_cert``, ``stranger_key``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    leaves = {"server": ca.issue_cert(server, common_name=server),
              "client": ca.issue_cert(client, common_name=client),
              "stranger": trustme.CA().issue_cert(client, common_name=client)}
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    files = {"ca": str(folder / "ca.pem")}
    for role, leaf in leaves.items():
        cert, key = folder / f"{role}.crt", folder / f"{role}.key"
        cert.write_bytes(b"".join(pem.bytes() for pem in leaf.cert_chain_pems))
        key.write_bytes(leaf.private_key_pem.bytes())
        key.chmod(0o600)
        files[f"{role}_cert"], files[f"{role}_key"] = str(cert), str(key)
    return files


def robot_csr(name: str = "sts-pi") -> str:
    """What ``install.sh --csr`` sends from a Pi: an EC P-256 key's CSR, made by ``openssl`` as
    there (the key is thrown away here)."""
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", "key.pem", "-out",
                        "request.csr", "-subj", f"/CN={name}"], cwd=folder, check=True,
                       capture_output=True, timeout=60)
        return (Path(folder) / "request.csr").read_text()


def sign_csr(csr: Path, folder: Path) -> str:
    """What IoT Core's ``CreateCertificateFromCsr`` does: a certificate for the CSR's own key,
    from a test CA made in ``folder`` (moto's signs a key of its own instead)."""
    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True,
                       timeout=60)

    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=Test IoT CA", "-days", "2")
    openssl("x509", "-req", "-in", str(csr), "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "robot.pem", "-days", "2")
    return (folder / "robot.pem").read_text()
