/**
 * The `command` collector: runs a program with its arguments — no shell, so nothing in the
 * configuration is ever interpreted — and parses its standard output (`kv` or `json`). The
 * program runs in its own process group; on `timeoutMs` the whole group is killed (a script's
 * children too). A non-zero exit, a timeout, output over 64 KiB, a bad line, a bad name or a
 * non-numeric value is a counted, logged problem, never a crash; good metrics are kept.
 */
import type { ChildProcess } from 'node:child_process';
import type { CommandCollector } from '@outpost/protocol';
import type { CollectorDeps, CollectorSource, Metrics } from './collector-source.js';
import { ErrorCounter } from './error-counter.js';
import { parseJsonOutput, parseKv } from './parse-output.js';

export const MAX_COMMAND_OUTPUT_BYTES = 64 * 1024;

interface RunResult {
  readonly stdout?: string;
  readonly problem?: string;
}

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
}

export function createCommandCollector(config: CommandCollector, deps: CollectorDeps = {}): CollectorSource {
  const args = config.args ?? [];
  const errors = new ErrorCounter({ collector: 'command', cmd: config.cmd }, deps.log);
  const running = new Set<ChildProcess>();

  async function run(): Promise<RunResult> {
    // Loaded on first use, as in ota/run-step.ts: only devices with a command collector load it.
    const { spawn } = await import('node:child_process');
    return new Promise((resolve) => {
      let settled = false;
      const chunks: Buffer[] = [];
      let size = 0;
      let stderr = '';
      const finish = (result: RunResult): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(result);
      };
      let child: ChildProcess;
      try {
        child = spawn(config.cmd, args, { shell: false, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
      } catch (error) {
        resolve({ problem: `${config.cmd} could not be started: ${(error as Error).message}` });
        return;
      }
      running.add(child);
      const timer = setTimeout(() => {
        killGroup(child);
        finish({ problem: `${config.cmd} timed out after ${config.timeoutMs} ms and was killed` });
      }, config.timeoutMs);
      child.stdout?.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_COMMAND_OUTPUT_BYTES) {
          killGroup(child);
          finish({ problem: `${config.cmd} wrote more than ${MAX_COMMAND_OUTPUT_BYTES} bytes and was killed` });
        } else {
          chunks.push(chunk);
        }
      });
      child.stderr?.on('data', (chunk: Buffer) => {
        if (stderr.length < 1024) stderr += chunk.toString('utf8');
      });
      child.on('error', (error) => {
        running.delete(child);
        finish({ problem: `${config.cmd} could not be started: ${error.message}` });
      });
      child.on('close', (code, signal) => {
        running.delete(child);
        if (code === 0) {
          finish({ stdout: Buffer.concat(chunks).toString('utf8') });
          return;
        }
        const why = code === null ? `was killed by ${String(signal)}` : `exited with code ${code}`;
        const firstLine = stderr.trim().split('\n')[0]?.slice(0, 200) ?? '';
        finish({ problem: `${config.cmd} ${why}${firstLine === '' ? '' : `: ${firstLine}`}` });
      });
    });
  }

  return {
    type: 'command',
    intervalMs: config.intervalMs,
    async collect(): Promise<Metrics> {
      const result = await run();
      if (result.stdout === undefined) {
        errors.report(result.problem ?? `${config.cmd} failed`);
        return {};
      }
      const parsed = config.format === 'json' ? parseJsonOutput(result.stdout) : parseKv(result.stdout);
      for (const problem of parsed.problems) errors.report(`${config.cmd}: ${problem}`);
      return parsed.metrics;
    },
    stats: () => errors.stats(),
    close: () => {
      for (const child of running) killGroup(child);
      running.clear();
    },
  };
}
