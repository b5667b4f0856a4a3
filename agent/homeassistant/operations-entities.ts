// Home Assistant entities for an unattended station's health beyond the core sensors: whether the
// disk is full (scheduling paused, docs/reliability.md), how many scheduled runs overran, and how much
// the last run wrote to the card (docs/sd-wear.md). They read retained `state` keys like the others.
import type { EntityProvider } from './entity-builder.js';

export const OPERATIONS_STATE_KEYS = {
  /** true while free space is below retention.min_free_mb after retention (scheduling paused). */
  diskFull: 'disk_full',
  /** Per job: due steps that found the job still queued, since start. */
  overruns: 'overruns',
  /** MB the agent process wrote during the last run (from /proc/self/io). */
  diskWritesMb: 'disk_writes_mb',
} as const;

export const operationsEntities: EntityProvider = (b) => {
  const k = OPERATIONS_STATE_KEYS;
  b.add('binary_sensor', 'disk_full', {
    ...b.common('disk_full', 'Disk full'),
    state_topic: b.topics.state,
    value_template: `{% if value_json.${k.diskFull} is defined %}{{ 'ON' if value_json.${k.diskFull} else 'OFF' }}{% else %}None{% endif %}`,
    payload_on: 'ON',
    payload_off: 'OFF',
    device_class: 'problem',
    entity_category: 'diagnostic',
  });
  b.add('sensor', 'overruns', {
    ...b.common('overruns', 'Schedule overruns'),
    state_topic: b.topics.state,
    // the sum over jobs; the per-job counts are attributes
    value_template: `{% if value_json.${k.overruns} is mapping %}{{ value_json.${k.overruns}.values() | sum }}{% else %}0{% endif %}`,
    json_attributes_topic: b.topics.state,
    json_attributes_template: `{{ (value_json.${k.overruns} if value_json.${k.overruns} is mapping else {}) | tojson }}`,
    state_class: 'total',
    icon: 'mdi:timer-alert-outline',
    entity_category: 'diagnostic',
  });
  b.sensor({ key: 'disk_writes', name: 'Disk writes (last run)', stateKey: k.diskWritesMb, unit: 'MB', deviceClass: 'data_size', stateClass: 'measurement', diagnostic: true, icon: 'mdi:sd', precision: 1 });
};
