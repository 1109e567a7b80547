import pino from "pino";
import { loadSetting } from "./config.ts";

/** The server's structured log (JSON lines on stderr; STOWAGE_LOG_LEVEL sets the level). */
export const log = pino({ level: loadSetting("logLevel") }, pino.destination(2));
export type Logger = typeof log;
