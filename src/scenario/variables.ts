/**
 * The `${workdir}`, `${port}`, `${seed}` and `${scenarioDir}` variables of a scenario: replaced in commands,
 * environment values and plan strings (anything else, like `${HOME}`, is left as written). schema.ts validates
 * with placeholder values; the runner takes one run's values in place, once, before anything starts.
 */
import { resolve } from 'node:path';
import { parseDocumentText, readDocumentFile } from '../common/document.js';
import type { PlanInput } from '../plan/schema.js';
import type { Scenario } from './types.js';

/** Names replaced in `${name}` form. */
export const SCENARIO_VARIABLES = ['workdir', 'port', 'seed', 'scenarioDir'] as const;
export type ScenarioVariables = Record<(typeof SCENARIO_VARIABLES)[number], string>;

const VARIABLE = new RegExp(`\\$\\{(${SCENARIO_VARIABLES.join('|')})\\}`, 'g');

/** Replaces `${workdir}`, `${port}`, `${seed}` and `${scenarioDir}`; leaves any other `${...}` as written. */
export function interpolate(text: string, vars: ScenarioVariables): string {
  return text.replace(VARIABLE, (_, name: keyof ScenarioVariables) => vars[name]);
}

/** {@link interpolate} on every string inside a JSON-like value. */
export function interpolateDeep(value: unknown, vars: ScenarioVariables): unknown {
  if (typeof value === 'string') return interpolate(value, vars);
  if (Array.isArray(value)) return value.map((v) => interpolateDeep(v, vars));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateDeep(v, vars)]));
  }
  return value;
}

/** Placeholder values used to validate plans before a run gives the real ones. */
export function placeholders(dir: string): ScenarioVariables {
  return { workdir: '/sysfault-workdir', port: '1', seed: '0', scenarioDir: dir };
}

/** A part of a scenario with its command as this run's argv. */
type WithArgv<T extends { readonly command: readonly string[] } | undefined> = T extends undefined ? undefined : Omit<T, 'command'> & { readonly command: string[] };

/** What one run of a scenario starts, with that run's variables in place. */
export interface ScenarioRunInputs {
  /** The target's argv. */
  readonly command: string[];
  /** The workload (when the scenario has one). */
  readonly workload: WithArgv<Scenario['workload']>;
  /** The verify command (when the scenario expects one). */
  readonly verify: WithArgv<Scenario['expect']['verify']>;
  /** The whole environment of the target and its helpers. */
  readonly env: Record<string, string>;
  /** The plan as a plan object (validated again by run()). */
  readonly plan: PlanInput;
}

/**
 * Puts one run's variables into everything the run starts: commands (a command containing "/" taken relative
 * to the scenario's directory), the environment (the caller's, the scenario's `setup.env`, and
 * SCENARIO_WORKDIR/PORT/SEED/DIR), and the plan (a plan file is read again, as text, with the variables replaced).
 */
export function runInputs(s: Scenario, vars: ScenarioVariables, baseEnv: NodeJS.ProcessEnv): ScenarioRunInputs {
  const argv = (command: readonly string[]): string[] => {
    const out = command.map((a) => interpolate(a, vars));
    if (out[0]?.includes('/')) out[0] = resolve(s.dir, out[0]);
    return out;
  };
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(baseEnv)) if (v !== undefined) env[k] = v;
  for (const [k, v] of Object.entries(s.setup.env)) env[k] = interpolate(v, vars);
  Object.assign(env, { SCENARIO_WORKDIR: vars.workdir, SCENARIO_PORT: vars.port, SCENARIO_SEED: vars.seed, SCENARIO_DIR: s.dir });
  return {
    command: argv(s.command),
    workload: s.workload && { ...s.workload, command: argv(s.workload.command) },
    verify: s.expect.verify && { ...s.expect.verify, command: argv(s.expect.verify.command) },
    env,
    plan: scenarioPlan(s, vars),
  };
}

/** The plan of one run as a plan object, with the run's variables replaced. */
function scenarioPlan(s: Scenario, vars: ScenarioVariables): PlanInput {
  if (s.plan.kind === 'file') return parseDocumentText(interpolate(readDocumentFile(s.plan.path, 'plan'), vars), s.plan.path).value as PlanInput;
  return interpolateDeep(s.plan.value, vars) as PlanInput;
}
