"""Certificate templates from `certificates/<name>/` rendered to PDF with WeasyPrint.

A template folder holds `metadata.yaml`, `template.html`, `theme.css` and optional
`assets/`. The HTML is rendered by a Jinja environment with autoescape on, so names,
networks and themes typed by users are always text. WeasyPrint gets a URL fetcher that
serves only the template's own assets (`asset://<file>`) and `data:` URIs; any other URL
(`file:`, `http:`, …) is refused, so nothing outside the template can end up in a PDF.
"""

from __future__ import annotations

import hashlib
import mimetypes
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import segno
import yaml
from flask import current_app
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

ASSET_SCHEME = "asset://"
REQUIRED_FILES = ("metadata.yaml", "template.html", "theme.css")
KINDS = ("hub", "trainee")
# Tagged for screen readers (PDF/UA-1 implies WeasyPrint's `pdf_tags`).
PDF_VARIANT = "pdf/ua-1"
# 6 pt DejaVu Sans Mono is 0.6 em a character: the verification line's width (about 70 mm,
# 198 pt) divided by 0.6 gives the characters x points that fit on one line.
VERIFY_LINE_PT_CHARS = 330.0
_prepared = threading.local()


class TemplateError(ValueError):
    """A certificate template folder is missing a file or has invalid metadata."""


class TemplateAssetFetcher(URLFetcher):
    """Serves the template's own files and `data:` URIs; refuses every other URL."""

    def __init__(self, files: dict[str, tuple[bytes, str]]):
        super().__init__(allowed_protocols={"data"}, allow_redirects=False, timeout=3)
        self.files = files

    def fetch(self, url, headers=None):
        if url in self.files:
            body, content_type = self.files[url]
            return URLFetcherResponse(url, body, {"Content-Type": content_type})
        if url.startswith("data:"):
            return super().fetch(url, headers)
        raise ValueError(f"blocked URL in a certificate: {url[:80]}")


@dataclass(frozen=True)
class CertificateTemplate:
    name: str  # folder name
    title: str
    kind: str
    version: int
    serial_prefix: str
    html: object  # jinja2.Template
    css: str
    assets: dict[str, tuple[bytes, str]]
    digest: str = ""  # folder_digest(): what each certificate records as its template version

    def fetcher(self) -> TemplateAssetFetcher:
        return TemplateAssetFetcher(self.assets)

    def prepared(self) -> tuple[CSS, FontConfiguration]:
        """The parsed stylesheet and font configuration, made once per thread and reused:
        parsing the CSS and loading its fonts for every certificate doubled render time."""
        cached = getattr(_prepared, self.name, None)
        if cached is None or cached[0] is not self:
            fonts = FontConfiguration()
            css = CSS(string=self.css, url_fetcher=self.fetcher(), font_config=fonts)
            cached = (self, css, fonts)
            setattr(_prepared, self.name, cached)
        return cached[1], cached[2]


def folder_digest(folder: Path) -> str:
    """SHA-256 over every file of a template folder (relative path and content, in path
    order; hidden files skipped): any change to the HTML, CSS, metadata or an asset gives
    a new value, so two certificates that look different show different template hashes."""
    digest = hashlib.sha256()
    files = sorted(
        path
        for path in folder.rglob("*")
        if path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)
    )
    for path in files:
        name = path.relative_to(folder).as_posix().encode()
        content = path.read_bytes()
        digest.update(len(name).to_bytes(4, "big") + name)
        digest.update(len(content).to_bytes(8, "big") + content)
    return digest.hexdigest()


def load_template(folder: Path) -> CertificateTemplate:
    """Read and validate one template folder."""
    for required in REQUIRED_FILES:
        if not (folder / required).is_file():
            raise TemplateError(f"{folder}: {required} is missing")
    try:
        meta = yaml.safe_load((folder / "metadata.yaml").read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise TemplateError(f"{folder}/metadata.yaml: not valid YAML: {exc}") from exc
    if not isinstance(meta, dict):
        raise TemplateError(f"{folder}/metadata.yaml: must be a mapping")
    for key in ("name", "kind", "version", "serial_prefix"):
        if key not in meta:
            raise TemplateError(f"{folder}/metadata.yaml: {key}: missing")
    if meta["kind"] not in KINDS:
        raise TemplateError(f"{folder}/metadata.yaml: kind: must be one of {', '.join(KINDS)}")
    if not isinstance(meta["version"], int) or meta["version"] < 1:
        raise TemplateError(f"{folder}/metadata.yaml: version: must be a whole number ≥ 1")
    prefix = str(meta["serial_prefix"])
    if not prefix.isalpha() or not prefix.isupper() or len(prefix) > 6:
        raise TemplateError(f"{folder}/metadata.yaml: serial_prefix: 1–6 capital letters")
    env = Environment(
        loader=FileSystemLoader(str(folder)),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
    )
    try:
        html = env.get_template("template.html")
    except Exception as exc:  # a Jinja syntax error, named with its file and line
        raise TemplateError(f"{folder}/template.html: {exc}") from exc
    assets = {}
    asset_dir = folder / "assets"
    if asset_dir.is_dir():
        for path in sorted(asset_dir.iterdir()):
            if path.is_file():
                content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                assets[ASSET_SCHEME + path.name] = (path.read_bytes(), content_type)
    return CertificateTemplate(
        name=folder.name,
        title=str(meta["name"]),
        kind=meta["kind"],
        version=meta["version"],
        serial_prefix=prefix,
        html=html,
        css=(folder / "theme.css").read_text(encoding="utf-8"),
        assets=assets,
        digest=folder_digest(folder),
    )


def load_templates(root: Path) -> dict[str, CertificateTemplate]:
    """Every template folder under `root`, keyed by kind (one template per kind)."""
    templates: dict[str, CertificateTemplate] = {}
    if not root.is_dir():
        raise TemplateError(f"{root}: certificate templates folder not found")
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        template = load_template(folder)
        if template.kind in templates:
            raise TemplateError(
                f"{folder}: a second template of kind {template.kind!r} "
                f"(already {templates[template.kind].name})"
            )
        templates[template.kind] = template
    missing = [k for k in KINDS if k not in templates]
    if missing:
        raise TemplateError(f"{root}: no template for {', '.join(missing)} certificates")
    return templates


def template_for(kind: str) -> CertificateTemplate:
    """The loaded template for `kind` (loaded once per app, at first use)."""
    cache = current_app.extensions.get("certificate_templates")
    if cache is None:
        cache = load_templates(Path(current_app.config["CERTIFICATE_TEMPLATES_DIR"]))
        current_app.extensions["certificate_templates"] = cache
    return cache[kind]


def qr_svg(url: str) -> Markup:
    """The verification URL as an inline SVG QR code (vector paths, no fetch); its <title>
    becomes the figure's alternative text in the tagged PDF."""
    svg = segno.make(url, error="m").svg_inline(
        scale=3, border=1, title="QR code of the verification address"
    )
    return Markup(svg)  # noqa: S704


def printed_verify_url(url: str) -> str:
    """The short form of a verification URL printed on a certificate, on one line: host and
    `/v/<code>` without the scheme (`portal.example.org/v/Abc…`). It works when typed or
    copied, since `/v/<code>` redirects to the verify page; the link itself keeps the full URL.
    """
    parts = urlsplit(url)
    prefix, _, code = parts.path.rpartition("/verify/")
    if not code:
        return url
    return f"{parts.netloc}{prefix}/v/{code}"


def render_html(template: CertificateTemplate, context: dict) -> str:
    def asset(name: str) -> str:
        url = ASSET_SCHEME + name
        if url not in template.assets:
            raise TemplateError(f"{template.name}: asset {name!r} not found")
        return url

    # The printed verification address is derived here, so callers (and the render entry
    # point's signature) need not know about it.
    printed = printed_verify_url(context["verify_url"])
    return template.html.render(
        **{"verify_url_printed": printed, **context},
        asset=asset,
        # The printed address stays on one line: its type size shrinks for a long host name.
        verify_url_pt=round(min(6.0, VERIFY_LINE_PT_CHARS / max(len(printed), 1)), 2),
    )


def render_pdf(template: CertificateTemplate, context: dict) -> bytes:
    """Render the certificate's HTML and CSS to PDF bytes (one call to WeasyPrint)."""
    html = render_html(template, context)
    return html_to_pdf(template, html)


def html_to_pdf(template: CertificateTemplate, html: str) -> bytes:
    """A tagged PDF/UA-1 document: structure tree, /MarkInfo, /Lang from `<html lang>`, title
    from `<title>` (shown by viewers instead of the file name) and link annotations."""
    css, fonts = template.prepared()
    return HTML(string=html, base_url=ASSET_SCHEME, url_fetcher=template.fetcher()).write_pdf(
        stylesheets=[css], font_config=fonts, pdf_variant=PDF_VARIANT
    )
