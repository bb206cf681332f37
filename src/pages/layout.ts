import { html } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';

type Content = HtmlEscapedString | Promise<HtmlEscapedString>;

/** The one page frame: no scripts, no external fonts or CDNs, readable on a phone. */
export function page(title: string, body: Content) {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${title}</title>
<style>
:root{color-scheme:light dark;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;line-height:1.5}
body{margin:0;padding:1.5rem 1rem;display:flex;justify-content:center}
main{max-width:32rem;width:100%}
h1{font-size:1.5rem;margin:0 0 1rem}
button,.button{font:inherit;font-weight:600;padding:.75rem 1.25rem;border-radius:.375rem;border:0;background:#0b57d0;color:#fff;cursor:pointer;text-decoration:none;display:inline-block}
button:focus-visible,a:focus-visible{outline:3px solid #f29900;outline-offset:2px}
.muted{color:#555}
@media (prefers-color-scheme:dark){.muted{color:#bbb}}
</style>
</head>
<body><main>${body}</main></body>
</html>`;
}
