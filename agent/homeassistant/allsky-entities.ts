// Home Assistant entities of an all-sky station (an `allsky` job is configured): camera entities for
// the night's keogram and star trails (retained JPEGs on image/keogram, image/startrails), sensors for
// the last night's clear fraction and darkest sky, and the auto-exposure loop's exposure, gain, sky
// level and day/night mode. They read the retained `state` keys the allsky job and its night session
// publish (ALLSKY_STATE_KEYS), like every other entity.

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

export interface AllskyEntity {
  component: 'sensor' | 'camera';
  key: string;
  payload: Record<string, unknown>;
}

const value = (k: string) => `{{ value_json.${k} | default(None) }}`;

/**
 * `common(key, name)` gives the fields every entity carries (unique id, device, availability);
 * `topics` the station's state and image topics.
 */
export function allskyEntities(topics: { state: string; image(kind: string): string }, common: (key: string, name: string) => Record<string, unknown>): AllskyEntity[] {
  const sensor = (key: string, name: string, extra: Record<string, unknown>): AllskyEntity => ({
    component: 'sensor',
    key,
    payload: { ...common(key, name), state_topic: topics.state, ...extra },
  });
  const names: Record<(typeof ALLSKY_IMAGE_KINDS)[number], string> = { keogram: 'Keogram', startrails: 'Star trails' };
  const k = ALLSKY_STATE_KEYS;
  return [
    ...ALLSKY_IMAGE_KINDS.map((kind): AllskyEntity => ({ component: 'camera', key: `image_${kind}`, payload: { ...common(`image_${kind}`, names[kind]), topic: topics.image(kind) } })),
    sensor('night_clear_fraction', 'Night clear fraction', {
      value_template: `{% if value_json.${k.nightClearFraction} is number %}{{ (value_json.${k.nightClearFraction} * 100) | round(1) }}{% else %}None{% endif %}`,
      unit_of_measurement: '%',
      state_class: 'measurement',
      icon: 'mdi:weather-night',
      suggested_display_precision: 0,
    }),
    sensor('night_darkest_sky', 'Night darkest sky', { value_template: value(k.nightDarkestSky), unit_of_measurement: 'ADU/s', state_class: 'measurement', icon: 'mdi:moon-new', suggested_display_precision: 1 }),
    sensor('night_frames', 'Night frames', { value_template: value(k.nightFrames), state_class: 'measurement', icon: 'mdi:filmstrip' }),
    sensor('allsky_exposure', 'All-sky exposure', { value_template: value(k.exposureS), unit_of_measurement: 's', device_class: 'duration', state_class: 'measurement', suggested_display_precision: 4 }),
    sensor('allsky_gain', 'All-sky gain', { value_template: value(k.gain), state_class: 'measurement', icon: 'mdi:amplifier', suggested_display_precision: 1 }),
    sensor('allsky_sky_level', 'All-sky sky level', { value_template: value(k.skyLevelPct), unit_of_measurement: '%', state_class: 'measurement', icon: 'mdi:brightness-5', suggested_display_precision: 1 }),
    sensor('allsky_mode', 'All-sky mode', { value_template: value(k.mode), icon: 'mdi:theme-light-dark' }),
    sensor('moon_illumination', 'Moon illumination', {
      value_template: `{% if value_json.${k.moonIllumination} is number %}{{ (value_json.${k.moonIllumination} * 100) | round(0) }}{% else %}None{% endif %}`,
      unit_of_measurement: '%',
      icon: 'mdi:moon-waxing-gibbous',
    }),
  ];
}
