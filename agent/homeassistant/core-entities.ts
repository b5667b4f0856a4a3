// The station's own Home Assistant entities: sensors on the retained `state`, the night binary sensor,
// one camera per preview kind, and the command buttons.
import { checkTopicId } from '../mqtt/topics.js';
import type { EntityBuilder, SensorSpec } from './entity-builder.js';

/**
 * Keys of the retained `state` JSON that the entities read. The daemon fills them with `state(patch)`;
 * a key not yet present shows as "unknown" in HA (templates render `None`).
 */
export const STATE_KEYS = {
  lastExposureS: 'last_exposure_s',
  /** Median sky level, % of full scale. */
  skyBackgroundPct: 'sky_background',
  starCount: 'star_count',
  hfrPx: 'hfr_px',
  focusPosition: 'focus_position',
  lastRunStatus: 'last_run_status',
  lastRunKind: 'last_run_kind',
  /** When the last run ended (ISO 8601). */
  lastRunAt: 'last_run_at',
  /** When the last frame was captured (ISO 8601). */
  lastFrameAt: 'last_frame_at',
  /** `<command>: ok` or `<command> failed: <error>` for the last command that arrived on MQTT. */
  lastCommand: 'last_command',
  activity: 'activity',
  diskFreePct: 'disk_free_pct',
  diskFreeGb: 'disk_free_gb',
  cpuTemperatureC: 'cpu_temp_c',
  night: 'night',
  sunAltitudeDeg: 'sun_altitude',
  /** Frames in the running live stack (livestack job). */
  stackFrames: 'stack_frames',
  /** Star signal of the last live-stack frame against its reference, % (transparency, gain). */
  starSignalPct: 'star_signal_pct',
  /** Dynamic range of the last HDR merge, in stops (EV). */
  hdrDynamicRangeEv: 'hdr_dynamic_range_ev',
  /** Fraction of the last HDR merge's pixels saturated in every exposure, %. */
  hdrSaturatedPct: 'hdr_saturated_pct',
  /** Results/events waiting in the MQTT outbox, and those dropped from it since start. */
  outboxPending: 'outbox_pending',
  outboxDropped: 'outbox_dropped',
} as const;

/** Every value `last_run_status` takes (runs still going are not "last"). */
export const RUN_STATUSES = ['ok', 'failed', 'aborted'];

const SENSORS: SensorSpec[] = [
  { key: 'last_exposure', name: 'Last exposure', stateKey: STATE_KEYS.lastExposureS, unit: 's', deviceClass: 'duration', stateClass: 'measurement', precision: 3 },
  { key: 'sky_background', name: 'Sky background', stateKey: STATE_KEYS.skyBackgroundPct, unit: '%', stateClass: 'measurement', icon: 'mdi:weather-night-partly-cloudy', precision: 2 },
  { key: 'star_count', name: 'Star count', stateKey: STATE_KEYS.starCount, stateClass: 'measurement', icon: 'mdi:star-four-points-outline' },
  { key: 'hfr', name: 'HFR', stateKey: STATE_KEYS.hfrPx, unit: 'px', stateClass: 'measurement', icon: 'mdi:blur', precision: 2 },
  { key: 'stack_frames', name: 'Stacked frames', stateKey: STATE_KEYS.stackFrames, stateClass: 'measurement', icon: 'mdi:layers-triple' },
  { key: 'star_signal', name: 'Star signal', stateKey: STATE_KEYS.starSignalPct, unit: '%', stateClass: 'measurement', icon: 'mdi:weather-cloudy-clock', precision: 1 },
  { key: 'hdr_dynamic_range', name: 'HDR dynamic range', stateKey: STATE_KEYS.hdrDynamicRangeEv, unit: 'EV', stateClass: 'measurement', icon: 'mdi:brightness-6', precision: 1 },
  { key: 'hdr_saturated', name: 'HDR saturated', stateKey: STATE_KEYS.hdrSaturatedPct, unit: '%', stateClass: 'measurement', icon: 'mdi:white-balance-sunny', precision: 3 },
  { key: 'focus_position', name: 'Focus position', stateKey: STATE_KEYS.focusPosition, unit: 'steps', stateClass: 'measurement', icon: 'mdi:arrow-left-right' },
  { key: 'sun_altitude', name: 'Sun altitude', stateKey: STATE_KEYS.sunAltitudeDeg, unit: '°', stateClass: 'measurement', icon: 'mdi:weather-sunset', precision: 1 },
  { key: 'last_run_status', name: 'Last run status', stateKey: STATE_KEYS.lastRunStatus, deviceClass: 'enum', options: RUN_STATUSES, icon: 'mdi:clipboard-check-outline' },
  { key: 'last_run', name: 'Last run', stateKey: STATE_KEYS.lastRunAt, deviceClass: 'timestamp' },
  { key: 'last_frame', name: 'Last frame', stateKey: STATE_KEYS.lastFrameAt, deviceClass: 'timestamp' },
  { key: 'last_command', name: 'Last command', stateKey: STATE_KEYS.lastCommand, icon: 'mdi:gesture-tap-button' },
  { key: 'activity', name: 'Activity', stateKey: STATE_KEYS.activity, icon: 'mdi:progress-clock' },
  { key: 'disk_free', name: 'Disk free', stateKey: STATE_KEYS.diskFreePct, unit: '%', stateClass: 'measurement', diagnostic: true, icon: 'mdi:harddisk', precision: 1 },
  { key: 'disk_free_gb', name: 'Disk free space', stateKey: STATE_KEYS.diskFreeGb, unit: 'GB', deviceClass: 'data_size', stateClass: 'measurement', diagnostic: true, precision: 1 },
  { key: 'cpu_temperature', name: 'CPU temperature', stateKey: STATE_KEYS.cpuTemperatureC, unit: '°C', deviceClass: 'temperature', stateClass: 'measurement', diagnostic: true, precision: 1 },
  { key: 'outbox_pending', name: 'Queued messages', stateKey: STATE_KEYS.outboxPending, stateClass: 'measurement', diagnostic: true, icon: 'mdi:tray-full' },
];

interface ButtonSpec {
  key: string;
  name: string;
  command: string;
  payload: Record<string, unknown>;
  icon: string;
}

// request_id lets anyone watching `cmd/<name>/result` tell HA-initiated commands apart.
const HA_REQUEST = { request_id: 'homeassistant' };

const BUTTONS: ButtonSpec[] = [
  { key: 'capture_now', name: 'Capture now', command: 'capture', payload: HA_REQUEST, icon: 'mdi:camera-iris' },
  { key: 'autofocus', name: 'Autofocus', command: 'autofocus', payload: HA_REQUEST, icon: 'mdi:image-filter-center-focus' },
  { key: 'livestack_start', name: 'Start live stack', command: 'livestack_start', payload: HA_REQUEST, icon: 'mdi:layers-plus' },
  { key: 'livestack_stop', name: 'Stop live stack', command: 'livestack_stop', payload: HA_REQUEST, icon: 'mdi:layers-off' },
];

/** How a job kind reads in an entity name ("HDR preview", not "Hdr preview"). */
const KIND_WORDS: Record<string, string> = {
  capture: 'Capture',
  hdr: 'HDR',
  livestack: 'Live stack',
  focusbracket: 'Focus bracket',
  autofocus: 'Autofocus',
};

export function kindWords(kind: string): string {
  const known = KIND_WORDS[kind];
  if (known) return known;
  const words = kind.replace(/[_-]+/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export function coreEntities(b: EntityBuilder): void {
  const { topics } = b;
  const imageKinds = b.options.imageKinds ?? ['capture'];
  imageKinds.forEach((k) => checkTopicId('discovery.imageKinds', k));
  const jobs = b.options.jobs ?? [];
  jobs.forEach((j) => checkTopicId('discovery.jobs', j));

  for (const s of SENSORS) b.sensor(s);

  b.add('binary_sensor', 'night', {
    ...b.common('night', 'Night'),
    state_topic: topics.state,
    value_template:
      `{% if value_json.${STATE_KEYS.night} is defined %}` +
      `{{ 'ON' if value_json.${STATE_KEYS.night} else 'OFF' }}{% else %}None{% endif %}`,
    payload_on: 'ON',
    payload_off: 'OFF',
    icon: 'mdi:weather-night',
  });

  // No image_encoding: the image topic carries raw JPEG bytes.
  for (const kind of imageKinds) {
    const key = `image_${kind}`;
    b.add('camera', key, { ...b.common(key, `${kindWords(kind)} preview`), topic: topics.image(kind) });
  }

  for (const btn of BUTTONS) {
    b.add('button', btn.key, {
      ...b.common(btn.key, btn.name),
      command_topic: topics.command(btn.command),
      payload_press: JSON.stringify(btn.payload),
      icon: btn.icon,
    });
  }
  for (const job of jobs) {
    const key = `job_${job}`;
    b.add('button', key, {
      ...b.common(key, `Run ${job}`),
      command_topic: topics.command('job'),
      payload_press: JSON.stringify({ ...HA_REQUEST, name: job }),
      icon: 'mdi:play-circle-outline',
    });
  }
}
