// Home Assistant MQTT discovery payloads: pure functions from station facts to
// `<prefix>/<component>/<unique_id>/config` messages. The publisher decides when to send them.
import { checkBaseTopic, checkTopicId, stationTopics } from '../mqtt/topics.js';
import { allskyEntities } from './allsky-entities.js';

export type DiscoveryComponent = 'sensor' | 'binary_sensor' | 'camera' | 'button';

export interface DiscoveryOptions {
  /** Discovery prefix HA listens on (default in HA: `homeassistant`). */
  prefix: string;
  baseTopic: string;
  stationId: string;
  stationName: string;
  model?: string;
  swVersion?: string;
  /** Preview kinds that get a camera entity on `<base>/<station>/image/<kind>`; default ['capture']. */
  imageKinds?: string[];
  /** Configured job names; each gets a "Run <job>" button sending `cmd/job {"name": ...}`. */
  jobs?: string[];
}

export interface DiscoveryMessage {
  component: DiscoveryComponent;
  uniqueId: string;
  /** `<prefix>/<component>/<unique_id>/config` */
  topic: string;
  payload: Record<string, unknown>;
}

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
} as const;

interface SensorSpec {
  key: string;
  name: string;
  stateKey: string;
  unit?: string;
  deviceClass?: string;
  stateClass?: 'measurement';
  diagnostic?: boolean;
  icon?: string;
  precision?: number;
}

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
  { key: 'last_run_status', name: 'Last run status', stateKey: STATE_KEYS.lastRunStatus, icon: 'mdi:clipboard-check-outline' },
  { key: 'activity', name: 'Activity', stateKey: STATE_KEYS.activity, icon: 'mdi:progress-clock' },
  { key: 'disk_free', name: 'Disk free', stateKey: STATE_KEYS.diskFreePct, unit: '%', stateClass: 'measurement', diagnostic: true, icon: 'mdi:harddisk', precision: 1 },
  { key: 'disk_free_gb', name: 'Disk free space', stateKey: STATE_KEYS.diskFreeGb, unit: 'GB', deviceClass: 'data_size', stateClass: 'measurement', diagnostic: true, precision: 1 },
  { key: 'cpu_temperature', name: 'CPU temperature', stateKey: STATE_KEYS.cpuTemperatureC, unit: '°C', deviceClass: 'temperature', stateClass: 'measurement', diagnostic: true, precision: 1 },
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

export function haStatusTopic(prefix: string): string {
  return `${prefix}/status`;
}

export function deviceIdentifier(stationId: string): string {
  return `skyrig_${stationId}`;
}

export function uniqueIdFor(stationId: string, key: string): string {
  return `skyrig_${stationId}_${key}`;
}

export function discoveryTopic(prefix: string, component: DiscoveryComponent, uniqueId: string): string {
  return `${prefix}/${component}/${uniqueId}/config`;
}

// Renders `None` when the key is absent so HA shows "unknown" instead of logging template errors.
function valueTemplate(stateKey: string): string {
  return `{{ value_json.${stateKey} | default(None) }}`;
}

function titleCase(kind: string): string {
  const words = kind.replace(/[_-]+/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export function buildDiscovery(options: DiscoveryOptions): DiscoveryMessage[] {
  checkBaseTopic('discovery.prefix', options.prefix);
  const topics = stationTopics(options.baseTopic, options.stationId);
  const station = options.stationId;
  const imageKinds = options.imageKinds ?? ['capture'];
  imageKinds.forEach((k) => checkTopicId('discovery.imageKinds', k));
  const jobs = options.jobs ?? [];
  jobs.forEach((j) => checkTopicId('discovery.jobs', j));

  const device: Record<string, unknown> = {
    identifiers: [deviceIdentifier(station)],
    name: options.stationName,
    model: options.model ?? 'skyrig station',
    manufacturer: 'skyrig',
  };
  if (options.swVersion) device.sw_version = options.swVersion;
  const origin: Record<string, unknown> = { name: 'skyrig' };
  if (options.swVersion) origin.sw_version = options.swVersion;

  // Fields every entity carries: HA marks the whole device unavailable from one topic.
  const common = (key: string, name: string) => ({
    name,
    unique_id: uniqueIdFor(station, key),
    availability_topic: topics.availability,
    payload_available: 'online',
    payload_not_available: 'offline',
    device,
    origin,
  });

  const out: DiscoveryMessage[] = [];
  const push = (component: DiscoveryComponent, key: string, payload: Record<string, unknown>) => {
    const uniqueId = uniqueIdFor(station, key);
    out.push({ component, uniqueId, topic: discoveryTopic(options.prefix, component, uniqueId), payload });
  };

  for (const s of SENSORS) {
    const p: Record<string, unknown> = {
      ...common(s.key, s.name),
      state_topic: topics.state,
      value_template: valueTemplate(s.stateKey),
    };
    if (s.unit) p.unit_of_measurement = s.unit;
    if (s.deviceClass) p.device_class = s.deviceClass;
    if (s.stateClass) p.state_class = s.stateClass;
    if (s.precision !== undefined) p.suggested_display_precision = s.precision;
    if (s.diagnostic) p.entity_category = 'diagnostic';
    if (s.icon) p.icon = s.icon;
    push('sensor', s.key, p);
  }

  push('binary_sensor', 'night', {
    ...common('night', 'Night'),
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
    push('camera', key, { ...common(key, `${titleCase(kind)} preview`), topic: topics.image(kind) });
  }

  // An all-sky station (an `allsky` job publishes previews) gets its night and auto-exposure entities.
  if (imageKinds.includes('allsky')) for (const e of allskyEntities(topics, common)) push(e.component, e.key, e.payload);

  for (const b of BUTTONS) {
    push('button', b.key, {
      ...common(b.key, b.name),
      command_topic: topics.command(b.command),
      payload_press: JSON.stringify(b.payload),
      icon: b.icon,
    });
  }
  for (const job of jobs) {
    const key = `job_${job}`;
    push('button', key, {
      ...common(key, `Run ${job}`),
      command_topic: topics.command('job'),
      payload_press: JSON.stringify({ ...HA_REQUEST, name: job }),
      icon: 'mdi:play-circle-outline',
    });
  }
  return out;
}

/** Discovery topics published before but not any more: to be cleared with an empty retained payload. */
export function staleDiscoveryTopics(previousTopics: readonly string[], current: readonly DiscoveryMessage[]): string[] {
  const now = new Set(current.map((m) => m.topic));
  return [...new Set(previousTopics)].filter((t) => !now.has(t));
}
