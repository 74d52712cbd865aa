// Runs one external command with execFile and turns failure into a
// CommandFailedError carrying the command, exit code and stderr.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CommandFailedError } from './errors.js';

const execFileAsync = promisify(execFile);

export interface RunResult {
  stdout: string;
  stderr: string;
}

interface ExecFailure {
  code?: number | string;
  signal?: string | null;
  stderr?: string;
  message?: string;
}

/** Runs `command args...` and resolves with its output, or rejects with CommandFailedError. */
export async function run(command: string, args: readonly string[], input?: { timeoutMs?: number }): Promise<RunResult> {
  try {
    const { stdout, stderr } = await execFileAsync(command, [...args], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      timeout: input?.timeoutMs ?? 120_000,
    });
    return { stdout, stderr };
  } catch (err) {
    const e = err as ExecFailure;
    const exitCode = typeof e.code === 'number' ? e.code : null;
    const stderr = e.stderr && e.stderr !== '' ? e.stderr : typeof e.code === 'string' ? `${e.code}: ${e.message ?? ''}` : '';
    throw new CommandFailedError(command, args, exitCode, e.signal ?? null, stderr);
  }
}
