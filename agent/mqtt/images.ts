// Retained preview images, one per kind: fitted under the size cap, kept in memory (the latest only)
// and pushed again on every connect so a dashboard opening later still sees the last picture.
import type { Logger } from '../log.js';
import type { Connection } from './connection.js';
import { fitJpegToCap } from './image-cap.js';
import type { StationTopics } from './topics.js';

export interface RetainedImages {
  /** Resolves false when skipped (cannot fit, not an image). Never rejects. */
  publish(kind: string, jpeg: Buffer): Promise<boolean>;
  /** Send every kept image again (on connect). */
  republish(): void;
}

export function createRetainedImages(conn: Connection, topics: StationTopics, maxBytes: number, log: Logger): RetainedImages {
  const images = new Map<string, Buffer>();
  return {
    async publish(kind, jpeg) {
      try {
        const topic = topics.image(kind);
        const fit = await fitJpegToCap(jpeg, maxBytes);
        if (!fit) {
          log.warn('preview image skipped: cannot fit the size cap', { kind, bytes: jpeg.length, cap: maxBytes });
          return false;
        }
        if (fit.reencoded) {
          log.info('preview image re-encoded to fit the size cap', {
            kind, bytes: jpeg.length, now_bytes: fit.jpeg.length, width: fit.width, height: fit.height,
          });
        }
        images.set(kind, fit.jpeg);
        if (conn.connected) conn.sendQuietly(topic, fit.jpeg, 1, true);
        return true;
      } catch (err) {
        log.warn('preview image skipped', { kind, error: err as Error });
        return false;
      }
    },
    republish() {
      for (const [kind, jpeg] of images) conn.sendQuietly(topics.image(kind), jpeg, 1, true);
    },
  };
}
