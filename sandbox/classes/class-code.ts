import { randomInt } from "node:crypto";

/**
 * A class's join code: six characters a teacher writes on a board and students type. Only
 * characters that cannot be mistaken for one another in handwriting or on a projector: no 0/O/Q/D,
 * 1/I/L, 2/Z, 5/S, 6/G, 8/B, U/V. 20^6 = 64 million codes; unknown codes are refused (404).
 */
export const CODE_ALPHABET = "ACEFHJKMNPRTWXY34679";
export const CODE_LENGTH = 6;
export const CLASS_CODE = new RegExp(`^[${CODE_ALPHABET}]{${CODE_LENGTH}}$`);

export function newClassCode(): string {
  let code = "";
  for (let i = 0; i < CODE_LENGTH; i++) code += CODE_ALPHABET[randomInt(CODE_ALPHABET.length)];
  return code;
}

/** What a student typed, as a code: any case, spaces and dashes ignored ("ab3-k7x" → "AB3K7X"). */
export function normalizeClassCode(typed: string): string {
  return typed.replace(/[\s-]/g, "").toUpperCase();
}
