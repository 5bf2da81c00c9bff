/**
 * The wire protocol's version. Bump it on every change that an older peer could not read; the
 * gateway refuses a client of another version at connect with a message naming both versions.
 */
export const PROTOCOL_VERSION = 7;
