#!/usr/bin/env node
// Runs the TypeScript sources directly (tsx), in this same process: signals and kill -9 reach the broker.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
