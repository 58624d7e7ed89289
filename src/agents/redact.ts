/** Tool arguments are stored at most this long (characters of JSON). */
export const MAX_ARGS_CHARS = 4096;

const SECRET_KEY = /(pass(word|wd)?|secret|token|api[-_]?key|authorization|cookie|credential|private[-_]?key)/i;

/**
 * Tool arguments as stored: JSON with values under secret-looking keys replaced, capped in
 * size. Arguments go to disk and to trace backends, so secrets never leave the process.
 */
export function redactArgs(args: unknown): string {
  let text: string;
  try {
    text = typeof args === 'string' ? args : JSON.stringify(args, (key, value: unknown) => (key !== '' && SECRET_KEY.test(key) ? '[REDACTED]' : value));
  } catch {
    text = String(args);
  }
  if (text === undefined) text = String(args);
  return text.length > MAX_ARGS_CHARS ? `${text.slice(0, MAX_ARGS_CHARS - 1)}…` : text;
}
