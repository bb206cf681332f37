/**
 * A relay on this machine (a local MTA, a test server) is reached without TLS. Any other is reached
 * over TLS: smtps://, or smtp:// with STARTTLS required, so that a network in between cannot strip
 * the STARTTLS offer and read the readers' addresses.
 */
export function smtpTls(url: string): { ignoreTLS: boolean; requireTLS: boolean } {
  const plain = url.startsWith('smtp://');
  const local = isLoopback(new URL(url).hostname);
  return { ignoreTLS: plain && local, requireTLS: plain && !local };
}

/** This machine, by name or address (the host exactly as the URL parser reads it). */
export function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** nodemailer lets the URL's own options win over ours: a relay elsewhere must not turn TLS off there. */
export function smtpUrlWeakensTls(url: string): boolean {
  const u = new URL(url);
  if (isLoopback(u.hostname)) return false;
  const keys = [...u.searchParams.keys()].map((k) => k.toLowerCase());
  return keys.some((k) => ['ignoretls', 'requiretls', 'secure', 'tls'].some((weak) => k.startsWith(weak)));
}
