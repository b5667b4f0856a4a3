// Home Assistant entities of an all-sky station (an `allsky` job is configured): camera entities for
// the night's keogram and star trails (retained JPEGs on image/keogram, image/startrails), sensors for
// the last night's clear fraction and darkest sky, and the auto-exposure loop's exposure, gain, sky
// level and day/night mode. They read the retained `state` keys the allsky job and its night session
// publish (ALLSKY_STATE_KEYS), like every other entity.
import type { EntityProvider } from './entity-builder.js';

export const ALLSKY_STATE_KEYS = {
  exposureS: 'allsky_exposure_s',
  gain: 'allsky_gain',
  /** Metered sky level of the last frame, % of full scale. */
  skyLevelPct: 'allsky_sky_level',
  /** Target of the last frame, % of full scale. */
  targetPct: 'allsky_target',
  mode: 'allsky_mode',
  moonIllumination: 'moon_illumination',
  /** Last closed night: fraction (0..1) of frames with at least clear_min_stars stars. */
  nightClearFraction: 'night_clear_fraction',
  /** Last closed night: lowest sky brightness, ADU per second at unit gain. */
  nightDarkestSky: 'night_darkest_sky',
  nightFrames: 'night_frames',
} as const;

/** The image kinds (topics image/<kind>) that get a camera entity. */
export const ALLSKY_IMAGE_KINDS = ['keogram', 'startrails'] as const;


/** Entity provider (providers.ts): announces the all-sky entities when an `allsky` job is configured. */
export const allskyEntities: EntityProvider = (b) => {
  if (!(b.options.imageKinds ?? []).includes('allsky')) return;
  const k = ALLSKY_STATE_KEYS;
  const names: Record<(typeof ALLSKY_IMAGE_KINDS)[number], string> = { keogram: 'Keogram', startrails: 'Star trails' };
  for (const kind of ALLSKY_IMAGE_KINDS) {
    const key = `image_${kind}`;
    // The preview-kind cameras (core-entities) may already cover a kind: announce each once.
    if ((b.options.imageKinds ?? []).includes(kind)) continue;
    b.add('camera', key, { ...b.common(key, names[kind]), topic: b.topics.image(kind) });
  }
  const sensor = (key: string, name: string, extra: Record<string, unknown>) => b.add('sensor', key, { ...b.common(key, name), state_topic: b.topics.state, ...extra });
  sensor('night_clear_fraction', 'Night clear fraction', {
    value_template: `{% if value_json.${k.nightClearFraction} is number %}{{ (value_json.${k.nightClearFraction} * 100) | round(1) }}{% else %}None{% endif %}`,
    unit_of_measurement: '%',
    state_class: 'measurement',
    icon: 'mdi:weather-night',
    suggested_display_precision: 0,
  });
  b.sensor({ key: 'night_darkest_sky', name: 'Night darkest sky', stateKey: k.nightDarkestSky, unit: 'ADU/s', stateClass: 'measurement', icon: 'mdi:moon-new', precision: 1 });
  b.sensor({ key: 'night_frames', name: 'Night frames', stateKey: k.nightFrames, stateClass: 'measurement', icon: 'mdi:filmstrip' });
  b.sensor({ key: 'allsky_exposure', name: 'All-sky exposure', stateKey: k.exposureS, unit: 's', deviceClass: 'duration', stateClass: 'measurement', precision: 4 });
  b.sensor({ key: 'allsky_gain', name: 'All-sky gain', stateKey: k.gain, stateClass: 'measurement', icon: 'mdi:amplifier', precision: 1 });
  b.sensor({ key: 'allsky_sky_level', name: 'All-sky sky level', stateKey: k.skyLevelPct, unit: '%', stateClass: 'measurement', icon: 'mdi:brightness-5', precision: 1 });
  b.sensor({ key: 'allsky_mode', name: 'All-sky mode', stateKey: k.mode, deviceClass: 'enum', options: ['day', 'night'], icon: 'mdi:theme-light-dark' });
  sensor('moon_illumination', 'Moon illumination', {
    value_template: `{% if value_json.${k.moonIllumination} is number %}{{ (value_json.${k.moonIllumination} * 100) | round(0) }}{% else %}None{% endif %}`,
    unit_of_measurement: '%',
    icon: 'mdi:moon-waxing-gibbous',
  });
};
