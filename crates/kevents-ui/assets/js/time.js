// Times and durations as people read them.

const UNITS = [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]];

/** A duration in seconds as "2h", "3d", "45s". */
export function duration(seconds) {
  seconds = Math.max(0, Math.round(seconds));
  for (const [unit, size] of UNITS) {
    if (seconds >= size || unit === 's') return `${Math.floor(seconds / size)}${unit}`;
  }
  return '0s';
}

/** Parses a Go-style duration ("15m", "2h", "30d" too) into seconds; NaN when unreadable. */
export function parseDuration(text) {
  const match = /^(\d+)(s|m|h|d)$/.exec(String(text || '').trim());
  if (!match) return NaN;
  return Number(match[1]) * {s: 1, m: 60, h: 3600, d: 86400}[match[2]];
}

/** "3m ago" for a time in milliseconds. */
export function ago(ms, now) {
  if (!ms) return '';
  return `${duration(((now || Date.now()) - ms) / 1000)} ago`;
}

/** A compact local date and time. */
export function stamp(ms) {
  if (!ms) return '';
  const d = new Date(ms);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** RFC 3339 in UTC, as the API takes it. */
export function rfc3339(ms) {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A Go duration for the API ("720h" for 30 days: Go has no day unit). */
export function goDuration(seconds) {
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

/** The ranges offered by the views, from 15 minutes to 30 days. */
export const RANGES = ['15m', '1h', '6h', '24h', '7d', '30d'];
