// Progressive enhancement for /donate: everything works without it (forms POST and redirect);
// with it, the presets follow the chosen frequency and currency, errors appear at their field
// without a reload, and the box remembers a random reader id for "remind me later".
export const DONATE_SCRIPT = `(() => {
  const $ = (id) => document.getElementById(id);
  const opts = JSON.parse($('options').textContent);
  const form = $('donate');
  const remind = $('remind');
  let readerId = null;
  try {
    readerId = localStorage.getItem('rd_reader_id');
    if (!readerId) {
      const bytes = crypto.getRandomValues(new Uint8Array(16));
      readerId = 'rdr_' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
      localStorage.setItem('rd_reader_id', readerId);
    }
  } catch (e) { readerId = null; }

  const currencyOf = () => opts.currencies.find((c) => c.currency === $('currency').value) || opts.currencies[0];
  const frequency = () => form.querySelector('input[name=frequency]:checked').value;
  const money = (minor, c) => {
    const whole = minor % 10 ** c.exponent === 0;
    return new Intl.NumberFormat('en', { style: 'currency', currency: c.currency.toUpperCase(),
      minimumFractionDigits: whole ? 0 : c.exponent, maximumFractionDigits: c.exponent }).format(minor / 10 ** c.exponent);
  };
  const typed = (text, c) => {
    const m = /^(\\d{1,9})(?:[.,](\\d+))?$/.exec(text.trim().replace(/[\\s\\u00a0']/g, '').replace(/^[^\\d]+/, ''));
    if (!m || (m[2] || '').length > c.exponent) return undefined;
    return Number(m[1]) * 10 ** c.exponent + Number((m[2] || '').padEnd(c.exponent, '0') || '0');
  };

  function renderPresets() {
    const c = currencyOf();
    const f = frequency();
    const box = $('presets');
    box.textContent = '';
    for (const a of c.presets[f]) {
      const label = document.createElement('label');
      label.className = 'choice';
      const input = document.createElement('input');
      Object.assign(input, { type: 'radio', name: 'amount', value: String(a), checked: !$('other-amount').value && a === c.defaultAmount[f] });
      const span = document.createElement('span');
      span.textContent = money(a, c);
      label.append(input, span);
      box.append(label);
    }
    $('currency-symbol').textContent = money(0, c).replace(/[\\d.,\\s]/g, '') || c.currency.toUpperCase();
    $('amount-hint').textContent = 'From ' + money(c.minimum, c) + ' to ' + money(c.maximum, c) + '.';
  }

  const FIELD_ERRORS = { amount: 'amount-error', currency: 'currency-error', email: 'email-error', frequency: 'amount-error' };
  const INPUTS = { amount: 'other-amount', email: 'email', currency: 'currency', 'remind-email-error': 'remind-email' };
  function clearErrors(scope) {
    scope.querySelectorAll('.error').forEach((p) => { p.textContent = ''; });
    scope.querySelectorAll('[aria-invalid]').forEach((i) => i.setAttribute('aria-invalid', 'false'));
    $('form-error').textContent = '';
  }
  function showError(errorId, inputId, message) {
    const p = $(errorId) || $('form-error');
    p.textContent = message;
    const input = inputId && $(inputId);
    if (input) { input.setAttribute('aria-invalid', 'true'); input.focus(); }
  }

  /** The amount the reader chose, in minor units: typed (wins) or a preset; undefined when neither is valid. */
  function chosenAmount(c) {
    const other = $('other-amount').value.trim();
    const preset = form.querySelector('input[name=amount]:checked');
    return { other, amount: other ? typed(other, c) : preset ? Number(preset.value) : undefined };
  }

  form.addEventListener('change', (e) => {
    if (e.target.name === 'frequency' || e.target.id === 'currency') renderPresets();
    if (e.target.name === 'amount') $('other-amount').value = '';
  });
  $('other-amount').addEventListener('input', () => {
    if ($('other-amount').value) form.querySelectorAll('input[name=amount]').forEach((r) => { r.checked = false; });
  });

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    const c = currencyOf();
    const { other, amount } = chosenAmount(c);
    if (amount === undefined) return showError('amount-error', 'other-amount', other ? 'Enter an amount such as 10 or 7.50' : 'Choose or enter an amount');
    const button = $('continue');
    button.disabled = true;
    button.textContent = 'Opening secure checkout…';
    const body = { frequency: frequency(), amount, currency: c.currency, email: $('email').value.trim() || undefined,
      campaign: form.campaign.value || undefined, readerId: readerId || undefined,
      captchaToken: (form.querySelector('[name=cf-turnstile-response],[name=h-captcha-response]') || {}).value || undefined };
    try {
      const res = await fetch('/api/checkout-sessions', { method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': crypto.randomUUID() }, body: JSON.stringify(body) });
      const data = await res.json();
      if (res.ok) { opts.embed ? window.open(data.url, '_top') : window.location.assign(data.url); return; }
      const field = data.error && data.error.field;
      showError(FIELD_ERRORS[field] || 'form-error', INPUTS[field], data.error ? data.error.message : 'Something went wrong; please try again.');
    } catch (err) {
      showError('form-error', null, 'We could not reach the server; please try again.');
    }
    button.disabled = false;
    button.textContent = 'Continue';
  });

  const DAYS = { week: 7, month: 30, quarter: 91 };
  const dayAfter = (days) => new Date(Date.now() + days * 86400000).toISOString().slice(0, 10);
  async function saveReminder(payload) {
    const res = await fetch('/api/reminders', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) });
    return { ok: res.ok, data: await res.json() };
  }
  const longDate = (iso) => new Date(iso).toLocaleDateString('en', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });

  remind.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(remind);
    const c = currencyOf();
    const { amount } = chosenAmount(c);
    const when = remind.querySelector('input[name=when]:checked').value;
    const { ok, data } = await saveReminder({ email: $('remind-email').value.trim(), consent: $('consent').checked,
      consentVersion: remind.consent_version.value, remindAt: dayAfter(DAYS[when]), frequency: frequency(),
      amount, currency: amount === undefined ? undefined : c.currency, campaign: form.campaign.value || undefined,
      readerId: readerId || undefined,
      captchaToken: (remind.querySelector('[name=cf-turnstile-response],[name=h-captcha-response]') || {}).value || undefined });
    if (ok) {
      $('notice').textContent = 'Thank you. We will e-mail you on ' + longDate(data.remindAt) + '.';
      $('later').open = false;
      $('notice').focus && $('notice').setAttribute('tabindex', '-1');
      $('notice').focus();
      return;
    }
    const field = data.error && data.error.field;
    if (field === 'email') showError('remind-email-error', 'remind-email', data.error.message);
    else if (field === 'consent') showError('consent-error', 'consent', 'Please tick the box so we may e-mail you.');
    else showError('remind-error', null, data.error ? data.error.message : 'Something went wrong; please try again.');
  });

  $('not-now').addEventListener('submit', async (e) => {
    if (!readerId) return;
    e.preventDefault();
    const { ok, data } = await saveReminder({ readerId, remindAt: dayAfter(30) });
    if (ok) {
      $('notice').textContent = 'No problem. We will not ask again until ' + longDate(data.remindAt) + '.';
      $('later').open = false;
    }
  });
})();`;
