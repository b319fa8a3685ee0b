"""Every figure downloads with a caption of its settings and a link that reopens the page.

Two drawing points give every figure this, with no per-page code:

- pictures (``ui.widgets.image_view.show_image``/``show_picture``) get one small
  "PNG" button (``export_button``). The file is made only when it is clicked (a
  deferred ``st.download_button``): the picture as shown, a white band under it with
  the caption (the figure, the page and its settings) and the page's link, and the
  same text in the PNG's text chunks (``Title``, ``Description``, ``URL``).
- Plotly charts keep Plotly's own camera in their tool bar, which downloads a PNG, and
  get a second button beside it for SVG. Both are drawn in the browser (no server-side
  renderer: kaleido would need Chrome). ``EXPORT_SCRIPT`` (sent once per page run)
  writes the caption and the link under the chart, in the exported file only, never on
  screen. Charts drawn through ``ui.widgets.tab_charts.plotly_chart`` carry their
  caption from the server (``chart_export``: the page's title and link parameters in
  ``layout.meta``, and a tool bar even where the page turned it off); any other chart
  with a tool bar is captioned from the browser's address, which every page keeps equal
  to its state.

The link is the current page's address with its link parameters
(``ui.widgets.page_link.current_link``): opening it restores the page as it was.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import urlencode

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from PIL import Image, ImageDraw, ImageFont
from PIL.PngImagePlugin import PngInfo

from ui.widgets.page_link import current_link

APP_NAME = "ConvScope"


META_KEY = "convscope_export"  # the figure's layout.meta entry the export script reads


CAPTION_WIDTH_PX = 560  # the band under a picture is at least this wide, so text wraps less


CAPTION_FONT_PX = 14


_MAX_SHOWN_VALUE = 48  # a long setting (a 15×15 kernel) is cut in the caption; the link is exact


_FONT_FILES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
)


@dataclass(frozen=True)
class Caption:
    """What a figure's export says about it.

    Attributes:
        title: the figure's own caption ("Input: camera.png — 512×512").
        page: the page's title ("Kernel Playground").
        settings: the page's link parameters, as ``name=value`` texts.
        link: the address that reopens the page in this state.
    """

    title: str
    page: str
    settings: tuple[str, ...]
    link: str

    def lines(self) -> list[str]:
        """The caption as text lines: the figure, the page and its settings, the link.

        >>> Caption("Output", "Pooling", ("s=2",), "http://h/pooling?s=2").lines()
        ['Output', 'ConvScope · Pooling · s=2', 'http://h/pooling?s=2']
        """
        where = " · ".join([APP_NAME, *(part for part in (self.page,) if part), *self.settings])
        return [line for line in (self.title, where, self.link) if line]

    def text(self) -> str:
        return "\n".join(self.lines())


def page_address(page_url: str, params: dict[str, str]) -> str:
    """The page's address (any old query dropped) with ``params`` as its query string.

    >>> page_address("http://host/kernel_playground?s=2", {"s": "1,2", "pad": "valid"})
    'http://host/kernel_playground?s=1%2C2&pad=valid'
    >>> page_address("http://host/kernel_playground", {})
    'http://host/kernel_playground'
    """
    base = page_url.split("?")[0]
    return base + ("?" + urlencode(params) if params else "")


def settings_texts(params: dict[str, str]) -> tuple[str, ...]:
    """``name=value`` for each link parameter, long values cut (the link keeps them whole).

    >>> settings_texts({"s": "2,2", "k": "1," * 40})
    ('s=2,2', 'k=1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1…')
    """
    shown = []
    for name, value in params.items():
        text = value if len(value) <= _MAX_SHOWN_VALUE else value[: _MAX_SHOWN_VALUE - 1] + "…"
        shown.append(f"{name}={text}")
    return tuple(shown)


def slug(text: str, *, limit: int = 40) -> str:
    """A file-name-safe form of ``text``.

    >>> slug("Input: camera.png — 512×512")
    'input-camera-png-512-512'
    """
    words = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return words[:limit].rstrip("-") or "figure"


def _page_title() -> str:
    """The title of the page this run draws ("" outside the app's navigation)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is None:
        return ""
    try:
        page = ctx.pages_manager.get_pages().get(ctx.page_script_hash) or {}
    except AttributeError:  # another Streamlit's internals: the caption goes without it
        return ""
    return str(page.get("page_name") or "")


def current_caption(title: str) -> Caption:
    """The caption of a figure drawn now: the page, its link parameters and its address."""
    params = current_link()
    address = page_address(getattr(st.context, "url", None) or "", params)
    return Caption(title, _page_title(), settings_texts(params), address)


def file_name(caption: Caption, extension: str) -> str:
    """``convscope-<page>-<figure>.<extension>``.

    >>> file_name(Caption("Output — 8×8", "Pooling", (), ""), "png")
    'convscope-pooling-output-8-8.png'
    """
    parts = [APP_NAME.lower(), *(slug(part) for part in (caption.page, caption.title) if part)]
    return "-".join(parts) + "." + extension


# ---------------------------------------------------------------- pictures


@cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """DejaVu Sans where the system has it (it draws ×, −, →), else Pillow's own font."""
    for path in _FONT_FILES:
        if Path(path).exists():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size=size)


def _wrapped(lines: list[str], font, width_px: int) -> list[str]:
    """The lines broken at spaces to fit ``width_px``; a link (no spaces) breaks anywhere."""
    wrapped: list[str] = []
    for line in lines:
        current = ""
        for word in line.split(" "):
            candidate = f"{current} {word}" if current else word
            if font.getlength(candidate) <= width_px:
                current = candidate
                continue
            if current:
                wrapped.append(current)
            current = word
            while len(current) > 1 and font.getlength(current) > width_px:
                cut = next(
                    n
                    for n in range(len(current) - 1, 0, -1)
                    if font.getlength(current[:n]) <= width_px or n == 1
                )
                wrapped.append(current[:cut])
                current = current[cut:]
        wrapped.append(current)
    return wrapped


def captioned_png(png: bytes, caption: Caption) -> bytes:
    """``png`` with a white band under it holding the caption, and the caption and link
    in the file's text chunks (``Title``, ``Description``, ``URL``, ``Software``).

    >>> picture = io.BytesIO()
    >>> Image.new("RGB", (4, 3), "red").save(picture, format="PNG")
    >>> data = captioned_png(picture.getvalue(), Caption("Output", "Pooling", (), "http://h/p"))
    >>> Image.open(io.BytesIO(data)).text["URL"]
    'http://h/p'
    """
    picture = Image.open(io.BytesIO(png)).convert("RGB")
    font = _font(CAPTION_FONT_PX)
    margin, leading = 8, CAPTION_FONT_PX + 5
    width = max(picture.width, CAPTION_WIDTH_PX)
    lines = _wrapped(caption.lines(), font, width - 2 * margin)
    band = 2 * margin + leading * len(lines)
    canvas = Image.new("RGB", (width, picture.height + band), "white")
    canvas.paste(picture, (0, 0))
    draw = ImageDraw.Draw(canvas)
    top = picture.height + margin
    for index, line in enumerate(lines):
        draw.text((margin, top + index * leading), line, fill=(40, 40, 40), font=font)
    info = PngInfo()
    info.add_itxt("Title", caption.title)
    info.add_itxt("Description", caption.text())
    info.add_itxt("URL", caption.link)
    info.add_itxt("Software", APP_NAME)
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG", pnginfo=info, compress_level=6)
    return buffer.getvalue()


def rgb_png(rgb: np.ndarray) -> bytes:
    """An 8-bit grey or RGB array as PNG bytes (what ``captioned_png`` takes)."""
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def _unique_key(base: str) -> str:
    """``base``, or ``base.2``, ``base.3``… when this run already drew that key."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    shared = getattr(ctx, "shared", ctx)  # the run's keys moved there in Streamlit 1.5x
    taken = getattr(shared, "widget_user_keys_this_run", None) or ()
    key, count = base, 1
    while key in taken:
        count += 1
        key = f"{base}.{count}"
    return key


def export_button(png: bytes | np.ndarray, title: str, *, container=None) -> None:
    """One small "PNG" button under a picture; the captioned file is made on click.

    ``png`` is the picture as shown: PNG bytes, or the 8-bit grey or RGB array a page gave
    ``st.image`` (encoded only on click); ``title`` names it in the caption.
    """
    caption = current_caption(title)
    target = container if container is not None else st
    target.download_button(
        "PNG",
        lambda: captioned_png(png if isinstance(png, bytes) else rgb_png(png), caption),
        file_name=file_name(caption, "png"),
        mime="image/png",
        key=_unique_key(f"export.{slug(title, limit=24)}"),
        on_click="ignore",
        type="tertiary",
        icon=":material/download:",
        help="Download this picture as PNG, with its caption, the page's settings and a "
        "link that reopens the page as it is now.",
    )


# ---------------------------------------------------------------- charts


def chart_title(figure: go.Figure) -> str:
    """The chart's own title, or what its axes show.

    >>> chart_title(go.Figure(layout={"title": {"text": "Loss"}}))
    'Loss'
    >>> chart_title(go.Figure(layout={"xaxis": {"title": {"text": "epoch"}}}))
    'chart of epoch'
    """
    layout = figure.layout
    text = layout.title.text if layout.title is not None else None
    if text:
        return re.sub(r"<[^>]+>", " ", str(text)).strip()
    axis = layout.xaxis.title.text if layout.xaxis is not None else None
    return f"chart of {re.sub(r'<[^>]+>', ' ', str(axis)).strip()}" if axis else "chart"


def chart_export(figure: go.Figure, config: dict | None, title: str | None = None):
    """A copy of ``figure`` carrying its caption (``layout.meta``), and the chart's config
    with the export buttons: Plotly's camera (PNG, twice the size) and, from
    ``EXPORT_SCRIPT``, SVG. A chart drawn without a tool bar gets one with only these.

    >>> figure, config = chart_export(go.Figure(), {"displayModeBar": False}, "Loss")
    >>> figure.layout.meta["convscope_export"]["caption"][0], config["modeBarButtons"]
    ('Loss', [['toImage']])
    """
    if isinstance(figure, dict):
        figure = go.Figure(figure)
    caption = current_caption(title or chart_title(figure))
    # a copy: the caller's figure may be cached and shared; unchecked, for it was checked
    # when it was built (a checked copy of a large heatmap takes tens of milliseconds)
    exported = go.Figure(figure.to_dict(), _validate=False)
    meta = exported.layout.meta if isinstance(exported.layout.meta, dict) else {}
    exported.layout.meta = {
        **meta,
        META_KEY: {
            "caption": caption.lines()[:-1] if caption.link else caption.lines(),
            "link": caption.link,
            "name": file_name(caption, "svg")[: -len(".svg")],
        },
    }
    config = dict(config or {})
    config["toImageButtonOptions"] = {
        "format": "png",
        "filename": file_name(caption, "png")[: -len(".png")],
        "scale": 2,
        **config.get("toImageButtonOptions", {}),
    }
    if config.get("displayModeBar") is False:
        config["displayModeBar"] = "hover"
        config["modeBarButtons"] = [["toImage"]]
    return exported, config


# The browser side of chart export. Plotly's camera and the added SVG button both go
# through Plotly's own download (it clones the chart); just before it reads the chart,
# the caption goes under the plot (a taller image, a deeper bottom margin, an annotation
# with the link), and it is taken away again at once, so the chart on screen never
# changes. Plotly's tool bar is redrawn often, so the SVG button is added on hover.
# No "<" before a letter, "/" or "!" in it (written \x3c): the page's HTML sanitizer drops a
# script whose text looks like markup.
EXPORT_SCRIPT = r"""<script>
(() => {
  if (window.__convscopeExport) return;
  window.__convscopeExport = true;
  const KEY = "convscope_export", LINE = 16;
  const camera = (bar) => bar && bar.querySelector('.modebar-btn[data-title^="Download plot"]');
  const escape = (text) => String(text).replace(/&/g, "&amp;").replace(/\x3c/g, "&lt;");
  const slug = (text) => String(text).toLowerCase().replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "").slice(0, 40) || "figure";
  function wrap(text, width) {  // words to lines of at most width characters
    const lines = [];
    let line = "";
    for (let word of String(text).split(" ")) {
      while (word.length > width) {
        if (line) { lines.push(line); line = ""; }
        lines.push(word.slice(0, width));
        word = word.slice(width);
      }
      if (!line) line = word;
      else if (line.length + 1 + word.length <= width) line += " " + word;
      else { lines.push(line); line = word; }
    }
    if (line) lines.push(line);
    return lines;
  }
  function infoOf(gd) {
    // drawn through tab_charts: the server's caption; any other chart: the same from here
    const meta = gd.layout && gd.layout.meta && gd.layout.meta[KEY];
    if (meta) return meta;
    const axis = ((gd.layout.xaxis || {}).title || {}).text;
    const title = String((gd.layout.title || {}).text || (axis ? "chart of " + axis : "chart"))
      .replace(/\x3c[^>]+>/g, " ");
    const nav = document.querySelector('[data-testid="stSidebarNav"] a[aria-current="page"]');
    const label = nav && nav.querySelector("span[label]");
    const path = decodeURIComponent(location.pathname.split("/").pop() || "");
    const page = (label && label.getAttribute("label")) || path.replace(/_/g, " ") || "Home";
    const settings = Array.from(new URLSearchParams(location.search)).map(([name, value]) =>
      name + "=" + (value.length > 48 ? value.slice(0, 47) + "…" : value));
    return {caption: [title.trim(), ["ConvScope", page].concat(settings).join(" · ")],
      link: location.href, name: ["convscope", slug(page), slug(title)].join("-")};
  }
  function withCaption(gd, format) {
    const info = infoOf(gd);
    const options = gd._context.toImageButtonOptions || {};
    const saved = {layout: gd.layout, options: options};
    const full = gd._fullLayout, width = Math.max(20, Math.floor(full.width / 6.4));
    const lines = info.caption.flatMap((line) => wrap(line, width)).map(escape);
    // Plotly writes an href through encodeURI(decodeURI(href)), which turns %3A into
    // %253A: the characters a query value may hold as they are go in plain
    const link = escape((info.link || "").replace(/%(3A|2C|3B|2F|40|24)/gi, decodeURIComponent));
    for (const piece of wrap(info.link || "", width)) {
      lines.push("\x3ca href=\"" + link + "\">" + escape(piece) + "\x3c/a>");
    }
    const extra = LINE * lines.length + 16;
    const bottom = (full._size || full.margin).b;
    const margin = Object.assign({}, gd.layout.margin || {}, {b: bottom + extra});
    const note = {xref: "paper", yref: "paper", x: 0, y: 0, xanchor: "left", yanchor: "top",
      yshift: -bottom - 6, align: "left", showarrow: false, font: {size: 11},
      text: lines.join("\x3cbr>")};
    gd.layout = Object.assign({}, gd.layout, {margin: margin,
      annotations: (gd.layout.annotations || []).concat([note])});
    gd._context.toImageButtonOptions = Object.assign({}, options, {format: format,
      width: full.width, height: full.height + extra, scale: options.scale || 2,
      filename: format === "svg" ? info.name : (options.filename || info.name)});
    return () => { gd.layout = saved.layout; gd._context.toImageButtonOptions = saved.options; };
  }
  document.addEventListener("click", (event) => {
    const button = event.target.closest && event.target.closest(".modebar-btn");
    if (!button || button.classList.contains("cs-svg")) return;
    if (!(button.getAttribute("data-title") || "").startsWith("Download plot")) return;
    const gd = button.closest(".js-plotly-plot");
    if (!gd || gd.__csExporting) return;
    const restore = withCaption(gd, "png");
    setTimeout(restore, 0);
  }, true);
  document.addEventListener("mouseover", (event) => {
    const gd = event.target.closest && event.target.closest(".js-plotly-plot");
    if (!gd || !gd._context) return;
    const shot = camera(gd.querySelector(".modebar"));
    if (!shot || shot.parentNode.querySelector(".cs-svg")) return;
    const svg = shot.cloneNode(true);
    svg.classList.add("cs-svg");
    svg.setAttribute("data-title", "Download as SVG");
    svg.setAttribute("aria-label", "Download as SVG");
    svg.removeAttribute("data-val");
    svg.addEventListener("click", (click) => {
      click.preventDefault();
      click.stopPropagation();
      const restore = withCaption(gd, "svg");
      gd.__csExporting = true;
      try { shot.dispatchEvent(new MouseEvent("click", {bubbles: true})); }
      finally { gd.__csExporting = false; setTimeout(restore, 0); }
    });
    shot.parentNode.insertBefore(svg, shot.nextSibling);
  });
})();
</script>"""


def export_script() -> None:
    """Send the browser side of chart export (once per page run; it installs itself once)."""
    st.sidebar.html(EXPORT_SCRIPT, unsafe_allow_javascript=True)
