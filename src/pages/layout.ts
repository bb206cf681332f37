import { html, raw } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';

type Content = HtmlEscapedString | Promise<HtmlEscapedString>;

export interface PageOptions {
  title: string;
  /** The per-response CSP nonce: the only inline style and script that run carry it. */
  nonce: string;
  embed?: boolean;
  script?: string;
}

const CSS = `
:root{color-scheme:light;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;line-height:1.5;color:#1a1a1a;background:#fff}
*{box-sizing:border-box}
body{margin:0;padding:1.25rem 1rem 2rem;display:flex;justify-content:center}
body.embed{padding:.5rem}
main{max-width:30rem;width:100%}
h1{font-size:1.6rem;line-height:1.2;margin:0 0 .5rem}
.embed h1{font-size:1.25rem}
p{margin:.5rem 0}
.lede{color:#333}
fieldset{border:0;margin:1rem 0 0;padding:0}
legend,label.field{display:block;font-weight:650;margin:1rem 0 .35rem}
.choices{display:grid;grid-template-columns:repeat(auto-fit,minmax(4.25rem,1fr));gap:.5rem}
.choice{position:relative}
.choice input{position:absolute;opacity:0;inset:0;margin:0;width:100%;height:100%;cursor:pointer}
.choice span{display:block;text-align:center;padding:.7rem .5rem;border:2px solid #5f6368;border-radius:.5rem;font-weight:600;background:#fff}
.choice input:checked+span{background:#0b3d91;border-color:#0b3d91;color:#fff}
.choice input:focus-visible+span{outline:3px solid #e37400;outline-offset:2px}
input[type=email],input[type=text],select{font:inherit;width:100%;padding:.65rem .75rem;border:2px solid #5f6368;border-radius:.5rem;background:#fff;color:#1a1a1a}
.money{display:flex;align-items:center;gap:.5rem}
.money span{font-weight:650;min-width:1.5rem}
input[aria-invalid=true]{border-color:#b3261e}
:focus-visible{outline:3px solid #e37400;outline-offset:2px}
.hint{font-size:.875rem;color:#4a4a4a;margin:.25rem 0 0}
.error{color:#b3261e;font-weight:600;margin:.35rem 0 0}
.error:empty{display:none}
button,.button{font:inherit;font-weight:700;padding:.85rem 1.25rem;border-radius:.5rem;border:2px solid #0b3d91;background:#0b3d91;color:#fff;cursor:pointer;text-decoration:none;display:inline-block;text-align:center}
button.primary{width:100%;margin-top:1.25rem;font-size:1.1rem}
button.secondary{background:#fff;color:#0b3d91}
button.link{background:none;border:0;color:#0b3d91;text-decoration:underline;padding:.5rem 0;font-weight:600}
button[disabled]{opacity:.6;cursor:progress}
.methods{font-size:.875rem;color:#4a4a4a;text-align:center}
details{margin-top:1.5rem;border-top:1px solid #ccc;padding-top:1rem}
summary{cursor:pointer;font-weight:650;color:#0b3d91}
.check{display:flex;gap:.5rem;align-items:flex-start;margin-top:1rem}
.check input{width:1.25rem;height:1.25rem;margin-top:.15rem}
.notice{background:#e6f4ea;border:1px solid #1e8e3e;border-radius:.5rem;padding:.75rem;margin-top:1rem}
.notice:empty{display:none}
.alert{background:#fce8e6;border:1px solid #b3261e;border-radius:.5rem;padding:.75rem}
.alert:empty{display:none}
.card{border:1px solid #ccc;border-radius:.5rem;padding:1rem;margin:1rem 0}
.card h2{font-size:1.2rem;margin:0 0 .25rem}
h2{font-size:1.2rem;margin:1.5rem 0 .5rem}
.actions{display:flex;flex-wrap:wrap;gap:.5rem;margin-top:.75rem}
.actions form{margin:0}
table{width:100%;border-collapse:collapse;font-size:.95rem}
th,td{text-align:left;padding:.4rem .25rem;border-bottom:1px solid #ddd;vertical-align:top}
tfoot th,tfoot td{font-weight:700;border-bottom:0}
@media print{.no-print,button{display:none!important}body{padding:0}main{max-width:none}a{color:inherit;text-decoration:none}}
`;

/** The one page frame: no external fonts, CDNs or scripts; readable on a phone; one nonce. */
export function page(o: PageOptions, body: Content) {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${o.title}</title>
<style nonce="${o.nonce}">${raw(CSS)}</style>
</head>
<body${o.embed ? raw(' class="embed"') : ''}><main>${body}</main>
${o.script ? html`<script nonce="${o.nonce}">${raw(o.script)}</script>` : ''}
</body>
</html>`;
}
