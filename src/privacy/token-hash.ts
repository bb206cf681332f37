import { createHash } from 'node:crypto';

/** How a token mailed to a reader is stored: its SHA-256, never the token (reminder cancel links, manage links). */
export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');
