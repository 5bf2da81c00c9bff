/**
 * Timing rules both ends of the producer link follow; the SDKs (TypeScript and, through the JSON
 * Schema document, Python) read them from here instead of restating them.
 */

/** A consumer answers a command within this window: its outcome if done, else `accepted`. */
export const COMMAND_ACK_WINDOW_MS = 2000;
/** The gateway gives a connected consumer this long to answer a command before retrying it. */
export const COMMAND_DELIVERY_TIMEOUT_MS = 5000;
