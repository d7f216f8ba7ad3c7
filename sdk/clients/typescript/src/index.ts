/**
 * Warrant's client for agents and operators, on `fetch`: declare intents
 * before paying, wait for a person's approval, settle; list and hold
 * agents.
 *
 * Money is exact: amounts are decimal strings both ways (`"86.40"`), never
 * JavaScript numbers. Every write carries an `Idempotency-Key` made once,
 * so the client's own retries (after a broken connection, 408, 429 or a
 * 5xx) never act twice.
 */

/** An amount in major units of its currency, as exact decimal text. */
export type Money = string;

export type IntentStatus =
  | "pending_approval"
  | "approved"
  | "denied"
  | "cancelled"
  | "expired"
  | "completed"
  | "failed";

export interface HistoryEntry {
  from: IntentStatus | null;
  to: IntentStatus;
  actor: string;
  actorName?: string;
  reason?: string;
  note?: string;
  at: string;
}

export interface Intent {
  id: string;
  status: IntentStatus;
  agentId: string;
  purpose: string;
  currency: string;
  expectedAmountEuros?: Money;
  expectedMerchant?: string;
  cardId?: string;
  cardName?: string;
  statusReason?: string;
  clientIntentId?: string;
  ttlMinutes: number;
  policyId: string;
  policyVersion: number;
  decision: Record<string, unknown>;
  settlement?: Record<string, unknown>;
  approvePath?: string;
  expiresAt: string;
  createdAt: string;
  updatedAt: string;
  history?: HistoryEntry[];
}

export interface Agent {
  id: string;
  name: string;
  status: "active" | "frozen" | "suspended" | "archived";
  agentType: string;
  policyId: string;
  version: number;
  createdAt: string;
  updatedAt: string;
}

export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

export interface DeclareIntent {
  purpose: string;
  expectedAmountEuros?: Money;
  expectedMerchant?: string;
  cardName?: string;
  cardId?: string;
  currency?: string;
  recurring?: {
    cadence: "daily" | "weekly" | "monthly" | "yearly";
    windowStartDaysBefore?: number;
    windowEndDaysAfter?: number;
    amountTolerancePercent?: Money;
    merchantMatch?: boolean;
  };
  clientIntentId?: string;
  ttlMinutes?: number;
  /** Required with a tenant's API key; an agent token declares for its own agent. */
  agentId?: string;
}

export interface Settle {
  actualAmountEuros?: Money;
  actualMerchant?: string;
}

/** Every operation the client calls; its tests check each against the
 * server's OpenAPI document. */
export const ROUTES: ReadonlyArray<readonly [string, string]> = [
  ["POST", "/intents"],
  ["GET", "/intents"],
  ["GET", "/intents/{id}"],
  ["POST", "/intents/{id}/approve"],
  ["POST", "/intents/{id}/deny"],
  ["POST", "/intents/{id}/cancel"],
  ["POST", "/intents/{id}/complete"],
  ["POST", "/intents/{id}/verify"],
  ["GET", "/agents"],
  ["GET", "/agents/{id}"],
  ["POST", "/agents/{id}/freeze"],
  ["POST", "/agents/{id}/unfreeze"],
  ["GET", "/agents/{id}/usage"],
];

/** An error answer of the API, or `E_TRANSPORT` when the server could not
 * be reached after every try. */
export class WarrantError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly requestId?: string,
  ) {
    super(`${code}: ${message}`);
    this.name = "WarrantError";
  }
}

/** Keys whose values are amounts (`…Euros`) or percentages (`…Percent`). */
const EXACT = /"(\w+(?:Euros|Percent))":(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g;
const QUOTED = /"(\w+(?:Euros|Percent))":"(-?\d+(?:\.\d+)?)"/g;
const DECIMAL = /^\d+(\.\d+)?$/;

/** JSON text with every amount read as the exact decimal text it was. */
export function parseExact<T>(text: string): T {
  return JSON.parse(text.replace(EXACT, '"$1":"$2"')) as T;
}

/** A body as JSON text, its amounts written as the numbers they are. */
export function stringifyExact(body: unknown): string {
  check(body);
  return JSON.stringify(body).replace(QUOTED, '"$1":$2');
}

function check(value: unknown, key = ""): void {
  if (value === null || typeof value !== "object") {
    if (/(Euros|Percent)$/.test(key) && value !== undefined) {
      if (typeof value !== "string" || !DECIMAL.test(value)) {
        throw new TypeError(`${key} must be a decimal string such as "86.40", not ${JSON.stringify(value)}`);
      }
    }
    return;
  }
  for (const [k, v] of Object.entries(value)) check(v, k);
}

const RETRY = new Set([408, 429, 500, 502, 503, 504]);

function wait(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function backoff(attempt: number, retryAfter: string | null): number {
  const said = retryAfter === null ? NaN : Number(retryAfter);
  if (Number.isFinite(said)) return Math.min(said, 30) * 1000;
  return Math.min(200 * 2 ** attempt, 5000);
}

export interface Options {
  baseUrl: string;
  /** An agent token (`at_…`) or a tenant's API key (`sk_…`). */
  token: string;
  /** Tries after the first; 3 when absent. */
  retries?: number;
  /** Milliseconds a try may take; 30 000 when absent. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

interface Call {
  method: "GET" | "POST";
  path: string;
  body?: unknown;
  query?: Record<string, string | number | undefined>;
  idempotencyKey?: string;
}

/** The client: `new Warrant({baseUrl, token})`. */
export class Warrant {
  readonly intents: Intents;
  readonly agents: Agents;
  private readonly base: string;
  private readonly options: Required<Omit<Options, "fetch">> & { fetch: typeof fetch };

  constructor(options: Options) {
    if (!options.token) throw new TypeError("a token is required: an agent token (at_…) or an API key (sk_…)");
    this.base = options.baseUrl.replace(/\/+$/, "");
    this.options = {
      retries: 3,
      timeoutMs: 30_000,
      ...options,
      fetch: options.fetch ?? globalThis.fetch,
    };
    this.intents = new Intents(this);
    this.agents = new Agents(this);
  }

  /** Sends a call, trying again (the same request, the same idempotency
   * key) after a broken connection, 408, 429 or 5xx. */
  async send<T>(call: Call): Promise<T> {
    const key = call.method === "POST" ? (call.idempotencyKey ?? globalThis.crypto.randomUUID()) : undefined;
    const query = Object.entries(call.query ?? {})
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
      .join("&");
    const url = this.base + call.path + (query ? `?${query}` : "");
    const headers: Record<string, string> = {
      Authorization: `Bearer ${this.options.token}`,
      Accept: "application/json",
    };
    if (call.body !== undefined) headers["Content-Type"] = "application/json";
    if (key) headers["Idempotency-Key"] = key;
    const body = call.body === undefined ? undefined : stringifyExact(call.body);
    for (let attempt = 0; ; attempt++) {
      const last = attempt >= this.options.retries;
      let response: Response;
      try {
        response = await this.options.fetch(url, {
          method: call.method,
          headers,
          body,
          signal: AbortSignal.timeout(this.options.timeoutMs),
        });
      } catch (e) {
        if (last) throw new WarrantError(0, "E_TRANSPORT", `${call.method} ${call.path}: ${String(e)}`);
        await wait(backoff(attempt, null));
        continue;
      }
      const text = await response.text();
      if (RETRY.has(response.status) && !last) {
        await wait(backoff(attempt, response.headers.get("retry-after")));
        continue;
      }
      if (response.status >= 400) {
        let error: { code?: string; message?: string; field?: string; requestId?: string } = {};
        try {
          error = (JSON.parse(text) as { error: typeof error }).error ?? {};
        } catch {
          // Not the API's error shape: the text says what happened.
        }
        throw new WarrantError(
          response.status,
          error.code ?? "E_UNKNOWN",
          error.message ?? (text.slice(0, 500) || `HTTP ${response.status}`),
          error.field,
          error.requestId ?? response.headers.get("request-id") ?? undefined,
        );
      }
      return parseExact<T>(text);
    }
  }
}

/** `/intents`: declare, read, wait for, move and settle intents. */
export class Intents {
  constructor(private readonly c: Warrant) {}

  /** Declares an intent before paying; the policy decides at once. */
  declare(intent: DeclareIntent, options: { idempotencyKey?: string } = {}): Promise<Intent> {
    return this.c.send({ method: "POST", path: "/intents", body: intent, idempotencyKey: options.idempotencyKey });
  }

  get(id: string): Promise<Intent> {
    return this.c.send({ method: "GET", path: `/intents/${encodeURIComponent(id)}` });
  }

  list(query: { status?: IntentStatus; agentId?: string; limit?: number; cursor?: string } = {}): Promise<Page<Intent>> {
    return this.c.send({ method: "GET", path: "/intents", query });
  }

  /** Reads the intent until it is no longer pending approval, or
   * `timeoutMs` pass; gives it as it stands then. */
  async wait(id: string, { timeoutMs = 300_000, intervalMs = 2_000 } = {}): Promise<Intent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const intent = await this.get(id);
      if (intent.status !== "pending_approval" || Date.now() + intervalMs > deadline) return intent;
      await wait(intervalMs);
    }
  }

  approve(id: string, body: { reason?: string; note?: string } = {}): Promise<Intent> {
    return this.move("approve", id, body);
  }

  deny(id: string, body: { reason?: string; note?: string } = {}): Promise<Intent> {
    return this.move("deny", id, body);
  }

  cancel(id: string, body: { reason?: string } = {}): Promise<Intent> {
    return this.move("cancel", id, body);
  }

  complete(id: string, body: Settle = {}): Promise<Intent> {
    return this.move("complete", id, body);
  }

  verify(id: string, body: Settle & { actualAmountEuros: Money }): Promise<Intent> {
    return this.move("verify", id, body);
  }

  private move(verb: string, id: string, body: object): Promise<Intent> {
    return this.c.send({ method: "POST", path: `/intents/${encodeURIComponent(id)}/${verb}`, body });
  }
}

/** `/agents`: list and read agents, hold them, read their usage. */
export class Agents {
  constructor(private readonly c: Warrant) {}

  list(query: { limit?: number; cursor?: string } = {}): Promise<Page<Agent>> {
    return this.c.send({ method: "GET", path: "/agents", query });
  }

  get(id: string): Promise<Agent> {
    return this.c.send({ method: "GET", path: `/agents/${encodeURIComponent(id)}` });
  }

  freeze(id: string): Promise<Agent> {
    return this.c.send({ method: "POST", path: `/agents/${encodeURIComponent(id)}/freeze` });
  }

  unfreeze(id: string): Promise<Agent> {
    return this.c.send({ method: "POST", path: `/agents/${encodeURIComponent(id)}/unfreeze` });
  }

  /** The agent's usage against its policy's limits, as the API shows it
   * (amounts as decimal strings). */
  usage(id: string): Promise<Record<string, unknown>> {
    return this.c.send({ method: "GET", path: `/agents/${encodeURIComponent(id)}/usage` });
  }
}
