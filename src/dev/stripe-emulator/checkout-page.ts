// DEVELOPMENT TOOL: the emulator's stand-in for Stripe's hosted checkout page.

export const escapeHtml = (s: unknown) =>
  String(s ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');

const ZERO_DECIMAL = new Set(['jpy', 'krw', 'vnd', 'clp', 'pyg', 'ugx', 'xaf', 'xof']);

function amountText(session: Record<string, any>): string {
  const currency = String(session.currency ?? 'usd');
  const exponent = ZERO_DECIMAL.has(currency) ? 0 : 2;
  const amount = Number(session.amount_total ?? 0) / 10 ** exponent;
  const interval = session._params?.line_items?.[0]?.price_data?.recurring?.interval;
  const money = new Intl.NumberFormat('en', { style: 'currency', currency: currency.toUpperCase() }).format(amount);
  return interval ? `${money} every ${interval}` : money;
}

export const frame = (title: string, body: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:0;padding:1.5rem 1rem;background:#f6f7fb;color:#111;display:flex;justify-content:center}
main{background:#fff;max-width:26rem;width:100%;padding:1.5rem;border-radius:.5rem;box-shadow:0 1px 3px #0002}
.banner{background:#fff4ce;border:1px solid #e0c060;padding:.5rem .75rem;border-radius:.375rem;font-size:.875rem}
label{display:block;margin:.75rem 0 .25rem;font-weight:600}
input{font:inherit;width:100%;box-sizing:border-box;padding:.6rem;border:1px solid #888;border-radius:.375rem}
button{font:inherit;font-weight:600;margin-top:1rem;padding:.75rem 1.25rem;border-radius:.375rem;border:0;cursor:pointer}
.pay{background:#635bff;color:#fff;width:100%}.cancel{background:none;color:#333;text-decoration:underline}
.error{color:#b00020}
:focus-visible{outline:3px solid #f29900;outline-offset:2px}
</style></head><body><main>${body}</main></body></html>`;

export function checkoutPage(session: Record<string, any>, error?: string): string {
  return frame(
    'Test checkout',
    `<p class="banner">Stripe emulator: a test checkout. No real payment is made.</p>
<h1>${escapeHtml(amountText(session))}</h1>
<p>${escapeHtml(session._params?.line_items?.[0]?.price_data?.product_data?.name ?? 'Donation')}</p>
<form method="post">
${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ''}
<label for="email">E-mail</label>
<input id="email" name="email" type="email" autocomplete="email" value="${escapeHtml(session.customer_email)}">
<label for="name">Name on card</label>
<input id="name" name="name" autocomplete="cc-name">
<button class="pay" type="submit" name="action" value="pay">Pay</button>
<button class="cancel" type="submit" name="action" value="cancel" formnovalidate>Cancel</button>
</form>`,
  );
}

export function resultPage(title: string, message: string): string {
  return frame(title, `<h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p>`);
}
