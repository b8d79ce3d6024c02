/**
 * A topology's events: at a time, or once a service has made so many calls of a syscall (polled from the live
 * counts of its runs plus those of its ended incarnations), kill replicas (one after another, each restarted
 * when asked) or switch a rule on or off in every replica of a service.
 */
import type { SyscallCounts } from '../common/run-result.js';
import type { Instance, TopologyHost } from './host.js';
import type { EventSpec } from './types.js';

const POLL_MS = 5;
const KILL_ESCALATION_MS = 5_000;

type Trigger = Extract<EventSpec['at'], { kind: 'syscall' }>;

export class EventSchedule {
  readonly #host: TopologyHost;
  readonly #ruleState = new Map<string, Map<string, boolean>>();
  readonly #finishedCalls = new Map<string, number>(); // `${service}\0${syscall}` -> calls of ended incarnations
  readonly #pendingTriggers: Trigger[] = [];
  readonly #triggerEvents = new Map<object, EventSpec>();
  #pollTimer: NodeJS.Timeout | undefined;
  #pendingTimeEvents = 0;

  constructor(host: TopologyHost) {
    this.#host = host;
  }

  /** Every syscall trigger of the topology (each service's runs count the syscalls its triggers name). */
  triggers(): Trigger[] {
    return this.#host.spec.events.flatMap((e) => (e.at.kind === 'syscall' ? [e.at] : []));
  }

  /** The rules switched on or off so far in a service (a new incarnation starts with them so). */
  ruleStates(service: string): Iterable<[string, boolean]> {
    return this.#ruleState.get(service) ?? [];
  }

  /** An incarnation ended: its calls still count towards the triggers. */
  addFinishedCalls(service: string, counts: Readonly<Record<string, SyscallCounts>>): void {
    for (const [syscall, c] of Object.entries(counts)) {
      const key = `${service}\0${syscall}`;
      this.#finishedCalls.set(key, (this.#finishedCalls.get(key) ?? 0) + c.calls);
    }
  }

  /** Events are still to come. */
  pending(): boolean {
    return this.#pendingTimeEvents > 0 || this.#pendingTriggers.length > 0;
  }

  start(): void {
    for (const event of this.#host.spec.events) {
      if (event.at.kind === 'time') {
        this.#pendingTimeEvents++;
        this.#host.timer(event.at.ms, () => {
          this.#pendingTimeEvents--;
          this.#fire(event);
        });
      } else {
        this.#pendingTriggers.push(event.at);
        this.#triggerEvents.set(event.at, event);
      }
    }
    if (this.#pendingTriggers.length > 0) {
      this.#pollTimer = setInterval(() => this.#pollTriggers(), POLL_MS);
      this.#pollTriggers();
    }
  }

  stop(): void {
    if (this.#pollTimer) clearInterval(this.#pollTimer);
  }

  #calls(service: string, syscall: string): number {
    let calls = this.#finishedCalls.get(`${service}\0${syscall}`) ?? 0;
    for (const inst of this.#host.instances) {
      if (inst.spec.name !== service || !inst.current || inst.current.exited) continue;
      try {
        calls += inst.current.handle.counts()[syscall]?.calls ?? 0;
      } catch {
        // ending
      }
    }
    return calls;
  }

  #pollTriggers(): void {
    for (const trigger of [...this.#pendingTriggers]) {
      if (this.#calls(trigger.service, trigger.syscall) < trigger.count) continue;
      this.#pendingTriggers.splice(this.#pendingTriggers.indexOf(trigger), 1);
      const event = this.#triggerEvents.get(trigger);
      if (event) this.#fire(event);
    }
    if (this.#pendingTriggers.length === 0 && this.#pollTimer) {
      clearInterval(this.#pollTimer);
      this.#pollTimer = undefined;
    }
  }

  #fire(event: EventSpec): void {
    const host = this.#host;
    if (host.ending()) return;
    const targets = host.instances.filter((i) => i.spec.name === event.service);
    if (event.action !== 'kill') {
      const on = event.action === 'enable';
      const state = this.#ruleState.get(event.service) ?? new Map<string, boolean>();
      state.set(event.rule, on);
      this.#ruleState.set(event.service, state);
      const kind = on ? 'rule-enabled' : 'rule-disabled';
      for (const inst of targets) {
        const inc = inst.current;
        try {
          inc?.handle.setEnabled(event.rule, on);
        } catch {
          // checked at load
        }
        host.entry({ kind, rule: event.rule, event: event.index }, inst, inc);
      }
      return;
    }
    const chosen = event.replica === undefined ? targets : targets.filter((i) => i.replica === event.replica);
    void host.busyWith(async () => {
      for (const [k, inst] of chosen.entries()) {
        if (host.ending()) return;
        if (k > 0 && event.pauseMs > 0) await host.sleep(event.pauseMs);
        if (host.ending()) return;
        await this.#killAndRestart(inst, event);
      }
    });
  }

  async #killAndRestart(inst: Instance, event: Extract<EventSpec, { action: 'kill' }>): Promise<void> {
    const host = this.#host;
    const inc = inst.current;
    if (!inc) {
      host.entry({ kind: 'kill', signal: event.signalName, event: event.index, reason: 'not running' }, inst);
    } else {
      inc.endedBy = 'event';
      host.entry({ kind: 'kill', signal: event.signalName, event: event.index }, inst, inc);
      if (inc.ready) {
        inc.ready = false;
        host.entry({ kind: 'unready', event: event.index }, inst, inc);
      }
      inc.handle.kill(event.signal);
      const exited = await Promise.race([inc.done.then(() => true), host.sleep(KILL_ESCALATION_MS).then(() => false)]);
      if (!exited && !inc.exited && !host.ending()) {
        host.entry({ kind: 'kill', signal: 'SIGKILL', event: event.index, reason: 'escalation' }, inst, inc);
        inc.handle.kill('SIGKILL');
        await inc.done;
      }
    }
    if (event.restartAfterMs === undefined || host.ending()) return;
    await host.sleep(event.restartAfterMs);
    if (host.ending() || inst.current) return;
    host.entry({ kind: 'restart', reason: 'event', event: event.index }, inst);
    await host.restart(inst);
  }
}
