import { z } from 'zod';

/**
 * Schema pieces the step descriptors share. A nested step list is only checked to be an array
 * here: the definition validator checks each of its steps, so a problem names the step's path.
 */
export const uri = z.string().min(1);
export const name = z.string().min(1);
export const stepList = z.array(z.unknown());
export const fn = z.custom<(...a: unknown[]) => unknown>((v) => typeof v === 'function', 'expected a function');
