import pino from "pino";

/** The server's structured log (JSON lines on stderr; STOWAGE_LOG_LEVEL sets the level). */
export const log = pino({ level: process.env.STOWAGE_LOG_LEVEL ?? (process.env.VITEST ? "warn" : "info") }, pino.destination(2));
export type Logger = typeof log;
