// The one config schema: defaults, validation and the TypeScript types all come from here.
import { z } from 'zod';
import { parseDurationMs } from './duration.js';

const duration = z
  .union([z.string(), z.number()])
  .transform((v, ctx) => {
    const ms = parseDurationMs(v);
    if (ms === null) {
      ctx.addIssue({ code: 'custom', message: `invalid duration ${JSON.stringify(v)} (allowed: e.g. 30s, 5m, 1h30m, or seconds as a number)` });
      return z.NEVER;
    }
    return ms;
  });

const deviceUrl = z.string().refine((u) => /^(sim|indi|gphoto2|gpio-rail|rpicam):\/\//.test(u), {
  message: 'device url must start with sim://, indi://, gphoto2://, rpicam:// or gpio-rail://',
});

const idPattern = /^[a-z0-9][a-z0-9_-]*$/;

export const jobKinds = ['capture', 'hdr', 'livestack', 'focusbracket', 'autofocus', 'darks'] as const;

const jobSchema = z
  .object({
    name: z.string().regex(idPattern, 'job names use a-z, 0-9, - and _'),
    kind: z.enum(jobKinds),
    camera: z.string().optional(),
    focuser: z.string().optional(),
    /** Run on this interval (≥ 1 s); absent = only on command. Long periods are scheduled by date. */
    every: duration
      .refine((ms) => ms >= 1000, { message: 'every must be at least 1s (leave it out for a job run only on command)' })
      .refine((ms) => ms <= 366 * 86_400_000, { message: 'every must be at most 366d' })
      .optional(),
    /** Restrict scheduled runs to night (sun below site.night_sun_altitude), day, or always. */
    when: z.enum(['always', 'night', 'day']).default('always'),
    /** Job-specific parameters, passed to the job runner (see README "Jobs"). */
    params: z.record(z.string(), z.unknown()).default({}),
    enabled: z.boolean().default(true),
  })
  .strict();

export const configSchema = z
  .object({
    station: z
      .object({
        id: z.string().regex(idPattern, 'station ids use a-z, 0-9, - and _ (they become MQTT topics and HA unique ids)'),
        name: z.string().min(1).optional(),
      })
      .strict(),
    site: z
      .object({
        latitude: z.number().min(-90).max(90),
        longitude: z.number().min(-180).max(180),
        elevation: z.number().default(0),
        night_sun_altitude: z.number().min(-18).max(0).default(-6),
      })
      .strict()
      .default({ latitude: 0, longitude: 0, elevation: 0, night_sun_altitude: -6 }),
    paths: z
      .object({
        data_dir: z.string().default('/var/lib/skyrig'),
        spool_dir: z.string().optional(),
        products_dir: z.string().optional(),
        database: z.string().optional(),
      })
      .strict()
      .default({ data_dir: '/var/lib/skyrig' }),
    devices: z
      .object({
        cameras: z.record(z.string(), z.object({ url: deviceUrl }).strict()).default({}),
        focusers: z
          .record(
            z.string(),
            z
              .object({
                url: deviceUrl,
                backlash: z.number().int().min(0).default(0),
                approach: z.enum(['in', 'out']).default('in'),
              })
              .strict(),
          )
          .default({}),
      })
      .strict()
      .default({ cameras: {}, focusers: {} }),
    jobs: z.array(jobSchema).default([]),
    mqtt: z
      .object({
        enabled: z.boolean().default(true),
        url: z.string().regex(/^(mqtts?|wss?|tcp|ssl):\/\//, 'mqtt url must start with mqtt://, mqtts://, ws:// or wss://').default('mqtt://localhost:1883'),
        username: z.string().optional(),
        /** Prefer SKYRIG_MQTT_PASSWORD in the environment over a password in the file. */
        password: z.string().optional(),
        base_topic: z.string().regex(/^[^#+]+$/, 'base_topic may not contain MQTT wildcards').default('skyrig'),
        keepalive: z.number().int().min(1).max(600).default(30),
        discovery: z.boolean().default(true),
        discovery_prefix: z.string().default('homeassistant'),
        image_max_bytes: z.number().int().min(1024).default(256 * 1024),
        /** Command payloads above this are refused before parsing (with a reply naming the limit). */
        max_payload_bytes: z.number().int().min(1024).max(16 * 1024 * 1024).default(64 * 1024),
        /** Results/events kept in the SQLite outbox while the broker is away; the oldest go beyond this. */
        outbox_max: z.number().int().min(1).max(1_000_000).default(1000),
        tls: z
          .object({
            ca: z.string().optional(),
            cert: z.string().optional(),
            key: z.string().optional(),
            reject_unauthorized: z.boolean().default(true),
          })
          .strict()
          .optional(),
      })
      .strict()
      .default({
        enabled: true,
        url: 'mqtt://localhost:1883',
        base_topic: 'skyrig',
        keepalive: 30,
        discovery: true,
        discovery_prefix: 'homeassistant',
        image_max_bytes: 256 * 1024,
        max_payload_bytes: 64 * 1024,
        outbox_max: 1000,
      }),
    retention: z
      .object({
        /** Delete spooled frames of finished runs older than this (products are kept). */
        frames_days: z.number().min(0).default(7),
        /** Delete products older than this; 0 keeps them forever. */
        products_days: z.number().min(0).default(0),
        /** Refuse to start a capture when free space is below this (MB); retention runs first. */
        min_free_mb: z.number().min(0).default(500),
        /** How often retention runs (1 s .. 24 d, within one Node timer). */
        every: duration
          .refine((ms) => ms >= 1000 && ms <= 2 ** 31 - 1, { message: 'retention.every must be within 1s..24d' })
          .default(3_600_000),
        /** While the disk is full (scheduling paused), how often free space is checked again. */
        disk_check_every: duration
          .refine((ms) => ms >= 1000 && ms <= 3_600_000, { message: 'retention.disk_check_every must be within 1s..1h' })
          .default(30_000),
      })
      .strict()
      .default({ frames_days: 7, products_days: 0, min_free_mb: 500, every: 3_600_000, disk_check_every: 30_000 }),
    log: z
      .object({
        level: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
        json: z.boolean().default(false),
      })
      .strict()
      .default({ level: 'info', json: false }),
  })
  .strict();

export type ConfigInput = z.input<typeof configSchema>;
export type Config = z.output<typeof configSchema>;
export type JobConfig = Config['jobs'][number];
export type JobKind = (typeof jobKinds)[number];
