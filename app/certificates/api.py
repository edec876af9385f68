"""The public verification API: its version, the answers' envelope, and its OpenAPI 3.1
description (served at /verify/openapi.json).

Public surface: `API_VERSION`, `issuer()`, `code_answer()`, `unknown_answer()`,
`pdf_answer()`, `upload_error()`, `public_json()`, `openapi_document()`.

Every answer names the API version and the issuing superhub. Versioning rule: within a
major version fields are only ever added (clients must ignore fields they do not know);
removing or changing the meaning of a field makes a new major version. These answers are
public and read-only, so they carry `Access-Control-Allow-Origin: *` and never read a
session.
"""

from __future__ import annotations

from flask import current_app, jsonify

from .models import STATUS_LABELS

API_VERSION = "1.2.0"  # 1.2: the Open Badges credential's links (`credential`)
PDF_RESULTS = ("valid", "expired", "revoked", "superseded", "tampered", "unknown", "not_pdf")


def issuer() -> dict:
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    return {
        "name": current_app.config["SUPERHUB_NAME"],
        "url": base + "/",
        "verification_guide": base + "/verify/how-to",
    }


def _envelope(body: dict) -> dict:
    return {"version": API_VERSION, "issuer": issuer(), **body}


def _signed_with(signing_key_id: int | None) -> dict | None:
    if signing_key_id is None:
        return None
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    return {
        "key_id": signing_key_id,
        "certificate_pem": f"{base}/signing-keys/{signing_key_id}.pem",
        "certificate_der": f"{base}/signing-keys/{signing_key_id}.der",
    }


def _credential(cert) -> dict | None:
    """Where the certificate's Open Badges 3.0 credential and its status bit are (None for
    certificates issued before credentials were)."""
    from flask import url_for

    from . import credentials

    row = credentials.of_certificate(cert)
    if row is None:
        return None
    return {
        "jwt": url_for("credentials.verified_jwt", code=cert.code, _external=True),
        "json": url_for("credentials.verified_json", code=cert.code, _external=True),
        "status_list": credentials.status_list_url(row.status_list),
        "status_index": row.status_index,
    }


def code_answer(record: dict, cert) -> dict:
    """A certificate's public record (services.public_record) as the API answers it."""
    return _envelope(
        {
            **record,
            "signed_with": _signed_with(cert.signing_key_id),
            "credential": _credential(cert),
        }
    )


def unknown_answer() -> dict:
    return _envelope({"status": "unknown", "message": "No certificate has this verification code."})


def pdf_answer(check, record: dict | None) -> dict:
    """The verdict on an uploaded PDF (services.PdfCheck) and, if found, the certificate."""
    cert = check.certificate
    return _envelope(
        {
            "result": check.result,
            "message": check.message,
            "certificate": code_answer(record, cert)
            if cert is not None and record is not None
            else None,
        }
    )


def upload_error(message: str) -> dict:
    return _envelope({"error": {"field": "file", "message": message}})


def public_json(body: dict, status: int = 200):
    """A public, read-only JSON answer: any origin may read it; never cached."""
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


# --- the OpenAPI description --------------------------------------------------------------

_DATE = {"type": "string", "format": "date"}
_URI = {"type": "string", "format": "uri"}


def _schemas() -> dict:
    nullable_text = {"type": ["string", "null"]}
    return {
        "Issuer": {
            "type": "object",
            "description": "The superhub that issues and signs the certificates.",
            "required": ["name", "url"],
            "properties": {
                "name": {"type": "string"},
                "url": _URI,
                "verification_guide": {**_URI, "description": "How to verify our certificates."},
            },
        },
        "SignedWith": {
            "type": ["object", "null"],
            "description": "The signing key that signed the PDF and where to download its "
            "certificate (null for a certificate whose key is not recorded).",
            "required": ["key_id", "certificate_pem", "certificate_der"],
            "properties": {
                "key_id": {"type": "integer", "minimum": 1},
                "certificate_pem": _URI,
                "certificate_der": _URI,
            },
        },
        "Certificate": {
            "type": "object",
            "description": "What anyone may know about one certificate. Fields may be added "
            "in later 1.x versions; ignore the ones you do not know.",
            "required": [
                "version",
                "issuer",
                "serial",
                "type",
                "status",
                "status_label",
                "organisation",
                "network",
                "theme",
                "person",
                "approved_on",
                "issued_on",
                "expires_on",
                "approved_by",
                "single_person_approval",
                "sha256",
                "verify_url",
            ],
            "properties": {
                "version": {"type": "string", "const": API_VERSION},
                "issuer": {"$ref": "#/components/schemas/Issuer"},
                "serial": {"type": "string", "examples": ["HUB-2027-0042"]},
                "type": {"enum": ["hub", "trainee"]},
                "status": {"enum": list(STATUS_LABELS)},
                "status_label": {"enum": list(STATUS_LABELS.values())},
                "organisation": {"type": "string"},
                "network": nullable_text,
                "theme": nullable_text,
                "person": {**nullable_text, "description": "Trainee certificates only."},
                "approved_on": _DATE,
                "issued_on": _DATE,
                "expires_on": _DATE,
                "approved_by": {
                    "type": ["array", "null"],
                    "items": {"type": "string"},
                    "description": "The trainers who approved (hub certificates; else null).",
                },
                "single_person_approval": {"type": ["boolean", "null"]},
                "sha256": {
                    "type": "string",
                    "pattern": "^[0-9a-f]{64}$",
                    "description": "SHA-256 of the signed PDF exactly as issued.",
                },
                "verify_url": _URI,
                "revoked_on": {**_DATE, "description": "Only when revoked."},
                "revocation_reason": {"type": "string", "description": "Only when revoked."},
                "superseded_by": {
                    "type": "object",
                    "description": "Only when a newer certificate replaced this one.",
                    "required": ["serial", "verify_url"],
                    "properties": {"serial": {"type": "string"}, "verify_url": _URI},
                },
                "signed_with": {"$ref": "#/components/schemas/SignedWith"},
                "credential": {
                    "type": ["object", "null"],
                    "description": "The certificate's Open Badges 3.0 credential (VC-JWT and "
                    "decoded JSON) and its entry in the revocation status list; null for "
                    "certificates issued before credentials were (since 1.2.0).",
                    "required": ["jwt", "json", "status_list", "status_index"],
                    "properties": {
                        "jwt": _URI,
                        "json": _URI,
                        "status_list": _URI,
                        "status_index": {"type": "integer", "minimum": 0},
                    },
                },
            },
        },
        "Unknown": {
            "type": "object",
            "required": ["version", "issuer", "status", "message"],
            "properties": {
                "version": {"type": "string", "const": API_VERSION},
                "issuer": {"$ref": "#/components/schemas/Issuer"},
                "status": {"const": "unknown"},
                "message": {"type": "string"},
            },
        },
        "PdfCheck": {
            "type": "object",
            "required": ["version", "issuer", "result", "message", "certificate"],
            "properties": {
                "version": {"type": "string", "const": API_VERSION},
                "issuer": {"$ref": "#/components/schemas/Issuer"},
                "result": {
                    "enum": list(PDF_RESULTS),
                    "description": "valid, expired, revoked or superseded: the file is a "
                    "certificate we issued, unchanged, with that status. tampered: the "
                    "signature does not match or content was added after signing. unknown: "
                    "not signed by us, or not in our register. not_pdf: not a PDF at all.",
                },
                "message": {"type": "string"},
                "certificate": {
                    "oneOf": [{"$ref": "#/components/schemas/Certificate"}, {"type": "null"}]
                },
            },
        },
        "UploadError": {
            "type": "object",
            "required": ["version", "issuer", "error"],
            "properties": {
                "version": {"type": "string", "const": API_VERSION},
                "issuer": {"$ref": "#/components/schemas/Issuer"},
                "error": {
                    "type": "object",
                    "required": ["field", "message"],
                    "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                },
            },
        },
    }


def _json(schema: str, description: str) -> dict:
    return {
        "description": description,
        "headers": {"Access-Control-Allow-Origin": {"schema": {"const": "*"}}},
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


def openapi_document() -> dict:
    """The OpenAPI 3.1 description of the public verification API."""
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    superhub = current_app.config["SUPERHUB_NAME"]
    code = {
        "name": "code",
        "in": "path",
        "required": True,
        "description": "The verification code printed under the certificate's QR code.",
        "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{22,64}$"},
    }
    too_many = {"description": "Too many requests from this address; try again later."}
    by_code = {
        "200": _json("Certificate", "The certificate and its current status."),
        "404": _json("Unknown", "No certificate has this code (or the code is malformed)."),
        "429": too_many,
    }
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": f"{superhub}: certificate verification API",
            "version": API_VERSION,
            "summary": "Check a certificate's status by its code, or check a certificate PDF.",
            "description": "Public and read-only: no login, no cookies; every answer carries "
            "Access-Control-Allow-Origin: *. Within version 1 fields are only added; ignore "
            f"fields you do not know. How to trust our signature: {base}/verify/how-to",
        },
        "servers": [{"url": base}],
        "paths": {
            "/verify/{code}.json": {
                "get": {
                    "operationId": "getCertificateStatus",
                    "summary": "A certificate's status by its verification code",
                    "parameters": [code],
                    "responses": by_code,
                }
            },
            "/verify/{code}": {
                "get": {
                    "operationId": "getCertificateStatusNegotiated",
                    "summary": "The verify page; with Accept: application/json, the same "
                    "answer as /verify/{code}.json",
                    "parameters": [
                        code,
                        {
                            "name": "Accept",
                            "in": "header",
                            "required": True,
                            "schema": {"const": "application/json"},
                        },
                    ],
                    "responses": by_code,
                }
            },
            "/verify/pdf": {
                "post": {
                    "operationId": "checkCertificatePdf",
                    "summary": "Check a certificate PDF: our signature, then the register "
                    "(send Accept: application/json; the file is not stored)",
                    "parameters": [
                        {
                            "name": "Accept",
                            "in": "header",
                            "required": True,
                            "schema": {"const": "application/json"},
                        }
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "multipart/form-data": {
                                "schema": {
                                    "type": "object",
                                    "required": ["file"],
                                    "properties": {
                                        "file": {
                                            "type": "string",
                                            "contentMediaType": "application/pdf",
                                            "description": "The PDF, up to 5 MB.",
                                        }
                                    },
                                }
                            }
                        },
                    },
                    "responses": {
                        "200": _json("PdfCheck", "The verdict on the file."),
                        "400": _json("UploadError", "No file, an empty file, or over 5 MB."),
                        "429": too_many,
                    },
                }
            },
            "/signing-keys/{key_id}.pem": {
                "get": {
                    "operationId": "getSigningCertificatePem",
                    "summary": "A signing key's certificate (PEM); .der for DER",
                    "parameters": [
                        {
                            "name": "key_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "integer", "minimum": 1},
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "The X.509 certificate.",
                            "content": {"application/x-pem-file": {"schema": {"type": "string"}}},
                        },
                        "404": {"description": "No such key."},
                    },
                }
            },
        },
        "components": {"schemas": _schemas()},
    }
