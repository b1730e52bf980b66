/** Exit codes: 0 done, 1 a step failed, 2 bad input, 130 interrupted. */
export const EXIT = { ok: 0, failed: 1, input: 2, interrupted: 130 } as const;
