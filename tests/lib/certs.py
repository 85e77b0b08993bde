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


def issued(cn, issuer_cert, issuer_key, ca=False, sans=None, kind="ec", valid=(-1, 30)):
    """A certificate for <cn> signed by <issuer_cert>/<issuer_key> (PEM text), and its key, both
    PEM text. <ca>: a CA certificate (basicConstraints CA:TRUE, keyCertSign), to issue others;
    <sans>: DNS names for subjectAltName (default: [cn] for a leaf, none for a CA)."""
    issuer = x509.load_pem_x509_certificate(issuer_cert.encode())
    ikey = serialization.load_pem_private_key(issuer_key.encode(), password=None)
    key = (ec.generate_private_key(ec.SECP256R1()) if kind == "ec"
           else rsa.generate_private_key(public_exponent=65537, key_size=2048))
    now = datetime.datetime.now(datetime.timezone.utc)
    b = (x509.CertificateBuilder()
         .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
         .issuer_name(issuer.subject)
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now + datetime.timedelta(days=valid[0]))
         .not_valid_after(now + datetime.timedelta(days=valid[1]))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        b = b.add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                          key_encipherment=False, data_encipherment=False,
                                          key_agreement=False, key_cert_sign=True, crl_sign=True,
                                          encipher_only=False, decipher_only=False),
                            critical=True)
    names = sans if sans is not None else ([] if ca else [cn])
    if names:
        b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]),
                            critical=False)
    cert = b.sign(ikey, hashes.SHA256())
    return (cert.public_bytes(serialization.Encoding.PEM).decode(),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()).decode())
