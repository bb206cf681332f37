// DEVELOPMENT TOOL: the emulator's stand-in for Stripe's hosted Billing Portal (card update only).
import { escapeHtml, frame } from './checkout-page.js';

/** A card number's brand as Stripe's test cards have it. */
export const testCardBrand = (number: string) =>
  number.startsWith('4') ? 'visa' : number.startsWith('5') ? 'mastercard' : number.startsWith('3') ? 'amex' : 'unknown';

export function portalPage(current: { brand: string; last4: string } | null, error?: string): string {
  const card = current ? `${current.brand} ending ${current.last4}` : 'no card on file';
  return frame(
    'Update card',
    `<p class="banner">Stripe emulator: a test customer portal. No real card is stored.</p>
<h1>Update card</h1>
<p>Now: ${escapeHtml(card)}</p>
<form method="post">
${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ''}
<label for="card">New test card</label>
<input id="card" name="card" value="5555 5555 5555 4444" inputmode="numeric" autocomplete="cc-number">
<button class="pay" type="submit" name="action" value="update">Update card</button>
<button class="cancel" type="submit" name="action" value="return" formnovalidate>Return without changing</button>
</form>`,
  );
}
