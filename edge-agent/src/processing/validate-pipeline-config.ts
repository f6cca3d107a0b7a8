/**
 * Checks a pipeline configuration before the runtime swaps it in for a good one: the schema and
 * rule checks of `@outpost/protocol` (as a DesiredConfig would be checked), then what a schema
 * cannot know — a command collector's program must exist and be executable (found through
 * `searchPath` when the name has no slash, as `spawn` will look it up), metric names a collector
 * or rule uses must be valid and not reserved, a 1-Wire sensor id must make a valid metric name.
 * An unknown metric in a deadband is fine (it may come later). The first problem is the reason.
 */
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { validatePayload } from '@outpost/protocol';
import type { Collector } from '@outpost/protocol';
import { metricNameProblem } from '../collectors/metric-names.js';
import { w1MetricName } from '../collectors/w1-collector.js';
import type { PipelineConfig } from './pipeline-types.js';

export interface ValidateOptions {
  /** Directories searched for a program named without a slash (PATH syntax); default the process's PATH. */
  readonly searchPath?: string;
}

type Validation = { ok: true; value: PipelineConfig } | { ok: false; reason: string };

const KEYS = new Set(['collectors', 'processing', 'rules', 'limits']);

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

function programProblem(cmd: string, searchPath: string): string | undefined {
  if (cmd.includes('/')) {
    const file = path.resolve(cmd);
    try {
      statSync(file);
    } catch {
      return `program ${JSON.stringify(cmd)} does not exist`;
    }
    return executable(file) ? undefined : `program ${JSON.stringify(cmd)} is not an executable file`;
  }
  const found = searchPath.split(path.delimiter).some((dir) => dir !== '' && executable(path.join(dir, cmd)));
  if (found) return undefined;
  const hint = /\s/.test(cmd) ? ' (cmd names the program alone; put its arguments in args — there is no shell)' : '';
  return `program ${JSON.stringify(cmd)} not found in the search path${hint}`;
}

function collectorProblem(collector: Collector, searchPath: string): string | undefined {
  switch (collector.type) {
    case 'command': {
      const problem = programProblem(collector.cmd, searchPath);
      return problem === undefined ? undefined : `cmd: ${problem}`;
    }
    case 'simulated':
      for (const name of Object.keys(collector.metrics)) {
        const problem = metricNameProblem(name);
        if (problem !== undefined) return `metrics: ${problem}`;
      }
      return undefined;
    case 'w1':
      for (const [index, sensor] of (collector.sensors ?? []).entries()) {
        const problem = metricNameProblem(w1MetricName(sensor));
        if (problem !== undefined) return `sensors[${index}]: ${problem}`;
      }
      return undefined;
    case 'system':
      return undefined;
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

export function validatePipelineConfig(config: unknown, options: ValidateOptions = {}): Validation {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) return { ok: false, reason: 'the pipeline configuration must be an object' };
  const unknown = Object.keys(config).find((key) => !KEYS.has(key));
  if (unknown !== undefined) return { ok: false, reason: `${unknown}: unknown field` };
  let copy: object;
  try {
    copy = structuredClone(config);
  } catch {
    return { ok: false, reason: 'the pipeline configuration must be plain JSON data' };
  }
  const checked = validatePayload('DesiredConfig', { v: 1, version: 0, ...copy });
  if (!checked.ok) return { ok: false, reason: checked.reason };
  const { collectors, processing, rules, limits } = checked.value;
  // Read once here (the runtime may pass its own); spawn resolves a bare program name the same way.
  const searchPath = options.searchPath ?? process.env['PATH'] ?? '';
  for (const [index, collector] of collectors.entries()) {
    const problem = collectorProblem(collector, searchPath);
    if (problem !== undefined) return { ok: false, reason: `collectors[${index}].${problem}` };
  }
  for (const [index, rule] of (rules ?? []).entries()) {
    const problem = metricNameProblem(rule.metric);
    if (problem !== undefined) return { ok: false, reason: `rules[${index}].metric: ${problem}` };
  }
  const value: PipelineConfig = {
    collectors,
    limits,
    ...(processing === undefined ? {} : { processing }),
    ...(rules === undefined ? {} : { rules }),
  };
  return { ok: true, value: deepFreeze(value) };
}
