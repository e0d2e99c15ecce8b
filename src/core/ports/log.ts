/**
 * The logging surface the core, the store and the routes need: four levels, a fields object first
 * (pino's argument order). pino's `Logger` satisfies it, so the composition root passes its logger
 * (or a child) straight in, and nothing below it depends on pino. One type for every consumer:
 * it replaces the former `CoreLog` (core) and `RouteLog` (routing) twins.
 */
export interface Log {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}
