// Small HTTP helpers shared by the route modules: JSON bodies in and out,
// GitHub-style error bodies.

import type { IncomingMessage, ServerResponse } from 'node:http';

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export const DOCS_URL = 'https://docs.github.com/rest';

/** GitHub's error body: `{message, documentation_url, status}` (the `basic-error` schema). */
export function githubError(status: number, message: string, documentationUrl = DOCS_URL): Reply {
  return { status, body: { message, documentation_url: documentationUrl, status: String(status) } };
}

export function send(res: ServerResponse, reply: Reply): void {
  if (res.headersSent || res.destroyed) return;
  const headers: Record<string, string> = { ...reply.headers };
  let payload: string | undefined;
  if (reply.body !== undefined) {
    payload = JSON.stringify(reply.body);
    headers['content-type'] ??= 'application/json; charset=utf-8';
    headers['content-length'] = String(Buffer.byteLength(payload));
  }
  res.writeHead(reply.status, headers);
  res.end(payload);
}

export type ParsedBody = { ok: true; value: unknown } | { ok: false; error: string };

/** Reads a JSON body; an empty body is `undefined` (not an error). */
export async function readJson(req: IncomingMessage): Promise<ParsedBody> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Bearer/token/RemoteAuth credentials from the Authorization header. */
export function credentials(req: IncomingMessage): { scheme: string; token: string } | undefined {
  const header = req.headers.authorization;
  if (!header) return undefined;
  const m = /^(\S+)\s+(\S+)\s*$/.exec(header);
  if (!m || !m[1] || !m[2]) return undefined;
  return { scheme: m[1].toLowerCase(), token: m[2] };
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
