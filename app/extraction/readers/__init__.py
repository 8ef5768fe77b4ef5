"""Deterministic readers: each turns a machine-readable part of a document
(QR code, ICAO 9303 MRZ) or a structured number into
:class:`app.domain.Candidate` values with named checks."""
