// A fake GPIO chip for tests and benches: records every output edge with a high-resolution
// timestamp, simulates input lines (limit switches) that a test can set by hand or that follow a
// simulated motor, whose position is counted from the step/dir edges the driver really emits.
import type { Direction, Edge, GpioChip, GpioLine } from '../drivers/types.js';

export interface RecordedEdge {
  line: number;
  value: 0 | 1;
  /** process.hrtime.bigint() when the write happened. */
  t: bigint;
}

export interface SimulatedMotor {
  step: number;
  dir: number;
  /** Dir level that means "position increases" (default 1). */
  positiveLevel?: 0 | 1;
  /** Physical position (in pulses) when the simulation starts; the driver does not know it. */
  position?: number;
}

export interface SimulatedSwitch {
  line: number;
  /** True while the switch is pressed, given the simulated motor position. */
  pressedAt: (position: number) => boolean;
  /** Level the line reads while pressed (0 for a switch to ground with a pull-up). */
  activeLevel?: 0 | 1;
}

interface LineState {
  direction: Direction;
  edge: Edge;
  value: 0 | 1;
  watchers: ((value: 0 | 1) => void)[];
  open: boolean;
}

export class FakeGpioChip implements GpioChip {
  /** Every output write that changed a level, in order. */
  readonly edges: RecordedEdge[] = [];
  private readonly lines = new Map<number, LineState>();
  private motor: Required<SimulatedMotor> | null = null;
  private switches: Required<SimulatedSwitch>[] = [];
  /** Set record=false in benches that only need timing of one line, to keep memory flat. */
  record = true;
  /** Extra per-write delay (ns, busy) to mimic a slow sysfs write on a Pi. */
  writeCostNs = 0;
  private stall: { line: number; after: number; ns: number; seen: number } | null = null;

  open(line: number, direction: Direction, edge: Edge = 'none'): GpioLine {
    const existing = this.lines.get(line);
    if (existing?.open) throw new Error(`fake gpio: line ${line} is already open`);
    const initial = existing?.value ?? this.idleLevel(line);
    const state: LineState = { direction, edge, value: initial, watchers: [], open: true };
    this.lines.set(line, state);
    const spend = () => this.spend();
    const record = (value: 0 | 1) => {
      if (this.record) this.edges.push({ line, value, t: process.hrtime.bigint() });
      this.onOutputEdge(line, value);
    };
    return {
      line,
      write(value) {
        if (!state.open) throw new Error(`fake gpio: line ${line} is released`);
        if (state.direction !== 'out') throw new Error(`fake gpio: line ${line} is an input`);
        spend();
        if (value === state.value) return;
        state.value = value;
        record(value);
      },
      read() {
        if (!state.open) throw new Error(`fake gpio: line ${line} is released`);
        return state.value;
      },
      watch(callback) {
        state.watchers.push(callback);
      },
      unwatchAll() {
        state.watchers = [];
      },
      release() {
        state.open = false;
        state.watchers = [];
      },
    };
  }

  /** Drive an input line from the test (a switch closing, a sensor firing). */
  setInput(line: number, value: 0 | 1): void {
    const state = this.lines.get(line);
    if (!state) {
      this.lines.set(line, { direction: 'in', edge: 'none', value, watchers: [], open: false });
      return;
    }
    if (state.value === value) return;
    state.value = value;
    const fires = state.edge === 'both' || (state.edge === 'rising' && value === 1) || (state.edge === 'falling' && value === 0);
    // Real edge callbacks arrive from the event loop (epoll), never synchronously inside a write.
    if (fires) for (const cb of [...state.watchers]) setImmediate(() => cb(value));
  }

  /**
   * Freeze the caller for `ms` right after the `afterRising`-th rising edge on `line`: what the
   * pulse generator sees when the OS deschedules the process mid-move.
   */
  stallOnce(line: number, afterRising: number, ms: number): void {
    this.stall = { line, after: afterRising, ns: ms * 1e6, seen: 0 };
  }

  /** Current level of a line (output or input). */
  level(line: number): 0 | 1 | undefined {
    return this.lines.get(line)?.value;
  }

  isOpen(line: number): boolean {
    return this.lines.get(line)?.open ?? false;
  }

  attachMotor(motor: SimulatedMotor): void {
    this.motor = { positiveLevel: 1, position: 0, ...motor };
    this.updateSwitches();
  }

  addSwitch(sw: SimulatedSwitch): void {
    this.switches.push({ activeLevel: 0, ...sw });
    this.updateSwitches();
  }

  /** Physical position of the simulated motor (pulses). */
  motorPosition(): number {
    if (!this.motor) throw new Error('fake gpio: no simulated motor attached');
    return this.motor.position;
  }

  /** Timestamps of the rising edges on a line: one per step pulse. */
  risingEdges(line: number): bigint[] {
    return this.edges.filter((e) => e.line === line && e.value === 1).map((e) => e.t);
  }

  clearEdges(): void {
    this.edges.length = 0;
  }

  private idleLevel(line: number): 0 | 1 {
    const sw = this.switches.find((s) => s.line === line);
    return sw ? ((1 - sw.activeLevel) as 0 | 1) : 0;
  }

  private spend(): void {
    if (this.writeCostNs <= 0) return;
    const until = process.hrtime.bigint() + BigInt(this.writeCostNs);
    while (process.hrtime.bigint() < until);
  }

  private onOutputEdge(line: number, value: 0 | 1): void {
    const st = this.stall;
    if (st && line === st.line && value === 1 && ++st.seen === st.after) {
      this.stall = null;
      const until = process.hrtime.bigint() + BigInt(st.ns);
      while (process.hrtime.bigint() < until);
    }
    const m = this.motor;
    if (!m || line !== m.step || value !== 1) return;
    const dirLevel = this.lines.get(m.dir)?.value ?? 0;
    m.position += dirLevel === m.positiveLevel ? 1 : -1;
    this.updateSwitches();
  }

  private updateSwitches(): void {
    if (!this.motor) return;
    for (const sw of this.switches) {
      const pressed = sw.pressedAt(this.motor.position);
      this.setInput(sw.line, pressed ? sw.activeLevel : ((1 - sw.activeLevel) as 0 | 1));
    }
  }
}

export function createFakeGpioChip(): FakeGpioChip {
  return new FakeGpioChip();
}
