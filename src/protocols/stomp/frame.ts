/** A STOMP frame. Headers keep wire order and repeats (STOMP 1.2: the first occurrence wins). */
export interface StompFrame {
  command: string;
  headers: Array<[string, string]>;
  body: Buffer;
}

export type StompVersion = '1.0' | '1.1' | '1.2';

/** The first value of a header, as STOMP 1.2 requires for repeated headers. */
export function header(frame: StompFrame, name: string): string | undefined {
  for (const [k, v] of frame.headers) if (k === name) return v;
  return undefined;
}
