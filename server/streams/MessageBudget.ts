import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { Socket } from 'socket.io';

/** How many socket messages one connection and one address may send. */
export interface BudgetLimits {
  /** Messages per connection per `windowS`. */
  perConnection: number;
  /** Messages per remote address per `windowS`, all its connections together. */
  perAddress: number;
  /** Length of a budget window, s. */
  windowS: number;
  /** Messages dropped over budget within `abuseWindowS` after which the connection is closed. */
  disconnectAfterDropped: number;
  abuseWindowS: number;
}

/**
 * Browsers send a handful of messages per page (subscribe, unsubscribe, a steering command): 20/s
 * is ten times a busy user. The address budget is wide because every browser behind the UI's
 * proxy (or a facility NAT) shares one address.
 */
export const VIEWER_BUDGET: BudgetLimits = {
  perConnection: 20,
  perAddress: 1000,
  windowS: 1,
  disconnectAfterDropped: 100,
  abuseWindowS: 10,
};

/**
 * A consumer sends every slice and every brick as one message: 512 bricks of a 256³ preview
 * volume at once, back to back under flow control on loopback, is well under 10,000/s.
 */
export const PRODUCER_BUDGET: BudgetLimits = {
  perConnection: 10_000,
  perAddress: 20_000,
  windowS: 1,
  disconnectAfterDropped: 10_000,
  abuseWindowS: 10,
};

/** What the gateway tells a connection closed for sending too much. */
export interface BudgetAbuse {
  message: string;
  /** Messages allowed per window, and messages dropped over it in the abuse window. */
  limit: number;
  dropped: number;
}

export interface BudgetCounters {
  /** Messages dropped because a connection or address was over its budget. */
  dropped: number;
  /** Connections closed for sustained abuse. */
  disconnected: number;
}

/**
 * A per-connection and per-address message budget on every event a socket sends (not only
 * commands), installed as the socket's first middleware: a message over budget is dropped before
 * any handler, authorisation or audit sees it (its ack, if any, answered `rate_limited`, and one
 * `protocol:error` per window), and a connection that keeps sending over budget is closed with a
 * reason. Fixed windows from rate-limiter-flexible, so memory is one counter per key.
 */
export class MessageBudget {
  private readonly perConnection: RateLimiterMemory;
  private readonly perAddress: RateLimiterMemory;
  private readonly strikes: RateLimiterMemory;
  private readonly counts: BudgetCounters = { dropped: 0, disconnected: 0 };

  constructor(
    readonly limits: BudgetLimits,
    private readonly onAbuse: (socket: Socket, abuse: BudgetAbuse) => void,
  ) {
    this.perConnection = new RateLimiterMemory({
      points: limits.perConnection,
      duration: limits.windowS,
    });
    this.perAddress = new RateLimiterMemory({
      points: limits.perAddress,
      duration: limits.windowS,
    });
    this.strikes = new RateLimiterMemory({
      points: limits.disconnectAfterDropped,
      duration: limits.abuseWindowS,
    });
  }

  counters(): BudgetCounters {
    return { ...this.counts };
  }

  /** Installs the budget on `socket`, keyed by its id and by `address`. */
  install(socket: Socket, address: string): void {
    let warnedUntil = 0;
    let closed = false;
    socket.once('disconnect', () => {
      void this.perConnection.delete(socket.id);
      void this.strikes.delete(socket.id);
    });
    socket.use((packet, next) => {
      if (closed) return;
      void this.admit(socket.id, address).then((refusal) => {
        if (refusal === null) return next();
        this.counts.dropped++;
        const last = packet[packet.length - 1];
        const message = `rate_limited: more than ${refusal.limit} messages per ${this.limits.windowS} s from this ${refusal.scope}; retry in ${Math.ceil(refusal.msBeforeNext / 1000)} s`;
        if (typeof last === 'function')
          (last as (a: unknown) => void)({
            ok: false,
            status: 429,
            code: 'rate_limited',
            error: message,
          });
        if (Date.now() >= warnedUntil) {
          warnedUntil = Date.now() + this.limits.windowS * 1000;
          socket.emit('protocol:error', {
            code: 'rate-limited',
            message,
            event: String(packet[0]),
          });
        }
        void this.strikes.consume(socket.id).catch((error: unknown) => {
          if (!(error instanceof RateLimiterRes) || closed) return;
          closed = true;
          this.counts.disconnected++;
          this.onAbuse(socket, {
            message: `disconnected by the gateway: ${error.consumedPoints} messages over budget in ${this.limits.abuseWindowS} s (limit ${refusal.limit} per ${this.limits.windowS} s per ${refusal.scope})`,
            limit: refusal.limit,
            dropped: error.consumedPoints,
          });
        });
      });
    });
  }

  private async admit(
    id: string,
    address: string,
  ): Promise<{ scope: 'connection' | 'address'; limit: number; msBeforeNext: number } | null> {
    try {
      await this.perConnection.consume(id);
    } catch (error) {
      if (!(error instanceof RateLimiterRes)) throw error;
      return {
        scope: 'connection',
        limit: this.limits.perConnection,
        msBeforeNext: error.msBeforeNext,
      };
    }
    try {
      await this.perAddress.consume(address);
    } catch (error) {
      if (!(error instanceof RateLimiterRes)) throw error;
      return { scope: 'address', limit: this.limits.perAddress, msBeforeNext: error.msBeforeNext };
    }
    return null;
  }
}
