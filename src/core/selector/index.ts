/** JMS 1.1 message selectors: compile once with {@link compileSelector}, then `matches` per message. */
export { compileSelector, DEFAULT_SELECTOR_LIMITS, MAX_SELECTOR_DEPTH } from './compile.ts';
export type { Selector, SelectorLimits, SelectorResolver, SelectorValue } from './types.ts';
