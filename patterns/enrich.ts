import { z } from 'zod';
import { map, mergeMap } from 'rxjs';
import type { ExchangeMessage, Producer, Step, StepContext, StepDescriptor } from '../src/routing/types.ts';
import { name, uri } from './definitions.ts';
import { attempt, mark } from './internals.ts';

declare module '../src/routing/types.ts' {
  interface StepDefs {
    enrich: { uri: string } & EnrichOptions;
  }
}

export interface EnrichOptions {
  timeout?: number;
  /** `replace` (default): the reply becomes the body; `merge`: the reply's JSON object is merged into the body's. */
  strategy?: 'replace' | 'merge';
  /** Put the reply (parsed) into this exchange property instead of the body. */
  property?: string;
}

function parse(m: ExchangeMessage): unknown {
  const text = m.body.toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    return text; // a reply that is not JSON is its text
  }
}

/**
 * Content enricher: request-reply to an endpoint (reply-to and correlation id set for the
 * responder); the reply replaces or is merged into the body. No reply within `timeout` ms
 * (default 5000) is a failure for the error handler.
 * @example { "enrich": { "uri": "queue:prices", "timeout": 2000, "strategy": "merge" } }
 */
export function enrich(producer: Producer, opts: EnrichOptions, ctx: StepContext): Step {
  const timeout = opts.timeout ?? 5000;
  return mergeMap((ex) => {
    mark(ex, ctx);
    return attempt(ctx, ex, () => {
      if (!producer.request) throw new Error(`${producer.uri} does not support request-reply`);
      return producer.request(ex, timeout);
    }).pipe(
      map((reply) => {
        if (opts.property !== undefined) ex.properties[opts.property] = parse(reply);
        else if (opts.strategy === 'merge') {
          const a = ex.body();
          const b = parse(reply);
          ex.setBody({ ...(a !== null && typeof a === 'object' ? a : {}), ...(b !== null && typeof b === 'object' ? b : {}) });
        } else {
          ex.message = { ...ex.message, body: reply.body, bodyType: reply.bodyType, ...(reply.contentType !== undefined ? { contentType: reply.contentType } : {}) };
        }
        return ex;
      }),
    );
  });
}

export const enrichStep: StepDescriptor<'enrich'> = {
  kind: 'enrich',
  schema: z.strictObject({ uri, timeout: z.number().int().min(1).optional(), strategy: z.enum(['replace', 'merge']).optional(), property: name.optional() }),
  compile: ({ uri: target, ...opts }, c) => {
    const producer = c.producer(target, `${c.path}.uri`); // checks the URI
    // Only broker addresses have request-reply here (a reply queue and correlation id); another
    // endpoint would fail every message at run time.
    if (!target.startsWith('queue:') && !target.startsWith('topic:')) throw c.invalid(`${c.path}.uri`, `${target}: enrich needs request-reply, which only queue: and topic: endpoints on this broker have`);
    return enrich(producer, opts, c.context);
  },
};
