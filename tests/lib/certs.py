# SPDX-License-Identifier: Apache-2.0
"""Certificates for tests, made on the spot (python3-cryptography): no fixture files to expire."""

import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID


def self_signed(cn, kind="ec", ca=None, valid=(-1, 30)):
    """A self-signed certificate for <cn> and its key, both PEM text. <kind>: "ec" (P-256) or
    "rsa" (2048 bits); <ca>: the basicConstraints CA flag (None: no extension); <valid>: not-before
    and not-after in days from now."""
    key = (ec.generate_private_key(ec.SECP256R1()) if kind == "ec"
           else rsa.generate_private_key(public_exponent=65537, key_size=2048))
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = datetime.datetime.now(datetime.timezone.utc)
    b = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now + datetime.timedelta(days=valid[0]))
         .not_valid_after(now + datetime.timedelta(days=valid[1])))
    if ca is not None:
        b = b.add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    cert = b.sign(key, hashes.SHA256())
    return (cert.public_bytes(serialization.Encoding.PEM).decode(),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()).decode())
