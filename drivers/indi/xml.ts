// Serialising client → server messages. Only what a client sends: getProperties, new*Vector,
// enableBLOB, pingRequest/pingReply.
import type { BlobMode, ElementValue, PropertyType } from './types.js';

export const INDI_PROTOCOL_VERSION = '1.7';

export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

function attrs(values: Record<string, string | undefined>): string {
  return Object.entries(values)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${escapeXml(v!)}"`)
    .join('');
}

export function getPropertiesXml(device?: string, name?: string): string {
  return `<getProperties${attrs({ version: INDI_PROTOCOL_VERSION, device, name })}/>\n`;
}

export function enableBlobXml(device: string, mode: BlobMode, name?: string): string {
  return `<enableBLOB${attrs({ device, name })}>${mode}</enableBLOB>\n`;
}

export function pingRequestXml(uid: string): string {
  return `<pingRequest${attrs({ uid })}/>\n`;
}

export function pingReplyXml(uid: string): string {
  return `<pingReply${attrs({ uid })}/>\n`;
}

function formatValue(type: PropertyType, value: ElementValue): string {
  if (type === 'Switch') return value === true || value === 'On' ? 'On' : 'Off';
  if (type === 'Number') {
    const n = typeof value === 'number' ? value : Number(value);
    if (!Number.isFinite(n)) throw new Error(`not a number: ${String(value)}`);
    return String(n);
  }
  return escapeXml(String(value));
}

/** new{Number,Switch,Text}Vector with the given element values. */
export function newVectorXml(type: Exclude<PropertyType, 'Light' | 'BLOB'>, device: string, name: string, values: Record<string, ElementValue>): string {
  const one = `one${type}`;
  const body = Object.entries(values)
    .map(([el, v]) => `  <${one}${attrs({ name: el })}>${formatValue(type, v)}</${one}>\n`)
    .join('');
  return `<new${type}Vector${attrs({ device, name })}>\n${body}</new${type}Vector>\n`;
}
