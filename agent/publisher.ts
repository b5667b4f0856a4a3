// What the agent needs from its outside world (MQTT in production; a recorder in tests; nothing when
// MQTT is disabled). Keeps the daemon independent of the MQTT client.
export interface CommandReply {
  ok: boolean;
  error?: string;
  result?: Record<string, unknown>;
}

export interface AgentPublisher {
  state(patch: Record<string, unknown>): void;
  result(kind: string, payload: Record<string, unknown>): void;
  image(kind: string, jpeg: Buffer): void;
  close(): Promise<void>;
}

export const nullPublisher: AgentPublisher = {
  state: () => {},
  result: () => {},
  image: () => {},
  close: async () => {},
};

/** Records everything: for tests and for the demo summary. */
export class RecordingPublisher implements AgentPublisher {
  readonly states: Record<string, unknown>[] = [];
  readonly results: { kind: string; payload: Record<string, unknown> }[] = [];
  readonly images: { kind: string; bytes: number }[] = [];
  current: Record<string, unknown> = {};
  state(patch: Record<string, unknown>): void {
    this.current = { ...this.current, ...patch };
    this.states.push(patch);
  }
  result(kind: string, payload: Record<string, unknown>): void {
    this.results.push({ kind, payload });
  }
  image(kind: string, jpeg: Buffer): void {
    this.images.push({ kind, bytes: jpeg.length });
  }
  async close(): Promise<void> {}
}

/** Fan out to several publishers (MQTT + recorder for the demo). */
export function teePublisher(...targets: AgentPublisher[]): AgentPublisher {
  return {
    state: (p) => targets.forEach((t) => t.state(p)),
    result: (k, p) => targets.forEach((t) => t.result(k, p)),
    image: (k, j) => targets.forEach((t) => t.image(k, j)),
    close: async () => {
      await Promise.all(targets.map((t) => t.close()));
    },
  };
}
